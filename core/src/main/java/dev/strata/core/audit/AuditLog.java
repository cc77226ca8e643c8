package dev.strata.core.audit;

import dev.strata.core.AuditEvent;
import dev.strata.core.AuditListener;
import java.time.Clock;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the store's parts report durable changes: builds each {@link AuditEvent} (time from the
 * store's clock, the node epoch) and hands it to the listener; a listener's exception is logged,
 * never propagated. Thread-safe if the listener is.
 */
public final class AuditLog {
    private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);

    /** Emits nothing (for parts built without a store, e.g. in tests). */
    public static final AuditLog NONE = new AuditLog(e -> { }, Clock.systemUTC(), () -> -1);

    private final AuditListener listener;
    private final Clock clock;
    private final LongSupplier nodeEpoch;

    public AuditLog(AuditListener listener, Clock clock, LongSupplier nodeEpoch) {
        this.listener = listener;
        this.clock = clock;
        this.nodeEpoch = nodeEpoch;
    }

    /** Reports a durable change; {@code streamId} -1 when it is not about one stream. */
    public void emit(AuditEvent.Type type, long streamId, Optional<String> tenant, Optional<String> actor,
            Map<String, String> details) {
        AuditEvent event = new AuditEvent(type, clock.millis(), nodeEpoch.getAsLong(), streamId, tenant, actor, details);
        try {
            listener.onEvent(event);
        } catch (RuntimeException e) {
            LOG.warn("audit listener failed on {}; the change itself is durable", type, e);
        }
    }
}
