package dev.strata.core;

/**
 * Receives a store's {@link AuditEvent}s (set with {@code Strata.builder().auditListener(..)}; the
 * default, {@link Slf4jAuditListener}, writes them as JSON lines). Called after each change is
 * durable, on the thread that learned so (a metadata commit's completion, a compaction or garbage
 * collection thread, the caller of a quota change), once per change, in the order the store made
 * them for any one stream.
 *
 * <p>Must be thread-safe, quick and non-blocking (it runs on the store's own threads); an exception
 * it throws is logged and otherwise ignored: auditing never fails or delays the change itself.
 */
@FunctionalInterface
public interface AuditListener {
    /** One durable change. */
    void onEvent(AuditEvent event);
}
