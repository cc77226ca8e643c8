package dev.strata.core.metrics;

/**
 * What the engine reports about itself. The default {@link #NONE} does nothing, so a store built
 * without a meter registry pays no metrics cost; {@link MicrometerStoreMetrics} publishes to
 * Micrometer. Implementations are thread-safe and never throw.
 */
public interface StoreMetrics {

    /** Reports nothing. */
    StoreMetrics NONE = new StoreMetrics() {
    };

    /** An append was acknowledged {@code latencyNanos} after the call, with {@code payloadBytes}. */
    default void appendAcknowledged(long payloadBytes, long latencyNanos) {
    }

    /** An append failed (backpressure, fencing, I/O...), typed by {@code cause}. */
    default void appendFailed(Throwable cause) {
    }

    /** A fetch was served from the LogCache ({@code fromCache}) or from objects. */
    default void fetched(boolean fromCache) {
    }

    /** An upload committed {@code objects} objects of {@code bytes} in {@code durationNanos}. */
    default void uploadCommitted(int objects, long bytes, long durationNanos) {
    }

    /** An upload attempt failed (it is retried). */
    default void uploadFailed() {
    }

    /** A compaction task committed: {@code inputs} objects replaced by {@code outputs}, with the bytes it moved. */
    default void compactionTaskCommitted(int inputs, int outputs, long bytesRead, long bytesWritten) {
    }

    /** Compaction waited before a read because an upload ({@code "upload"}) or user reads ({@code "read"}) were running. */
    default void compactionYielded(String to) {
    }

    /** A compaction task failed (its inputs stay; it is planned again next cycle). */
    default void compactionTaskFailed() {
    }

    /** Garbage collection deleted {@code count} objects; {@code orphans} says whether they were orphans. */
    default void objectsDeleted(int count, boolean orphans) {
    }
}
