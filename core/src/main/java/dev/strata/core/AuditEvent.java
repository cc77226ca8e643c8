package dev.strata.core;

import java.util.Map;
import java.util.Optional;

/**
 * One change to a store, as an {@link AuditListener} receives it: emitted only after the change is
 * durable (committed to the metadata, or done in object storage). Immutable.
 *
 * @param type what happened
 * @param timeMillis when it became durable (the store's clock, epoch milliseconds)
 * @param nodeEpoch the node epoch of the store that made the change
 * @param streamId the stream concerned, or -1 for a change not about one stream
 * @param tenant the stream's tenant (or the tenant a quota is about), if any
 * @param actor who asked for the change, as the embedding application named it ({@link AuditActor});
 *     empty for the store's own work (compaction, garbage collection) and for calls made without one
 * @param details the change's particulars (epochs, offsets, object keys and counts, rates), by name
 */
public record AuditEvent(Type type, long timeMillis, long nodeEpoch, long streamId, Optional<String> tenant,
        Optional<String> actor, Map<String, String> details) {

    /** What happened. */
    public enum Type {
        /** A stream was created ({@code epoch}). */
        STREAM_CREATED,
        /** A stream was opened with a higher epoch ({@code epoch}, {@code previousEpoch}): older holders are fenced. */
        STREAM_EPOCH_RAISED,
        /** A live holder of the stream in this store was fenced by a newer epoch ({@code fencedEpoch}, {@code epoch}). */
        STREAM_FENCED,
        /** A stream's start moved forward ({@code startOffset}). */
        STREAM_TRIMMED,
        /** A stream was deleted ({@code epoch}). */
        STREAM_DELETED,
        /** This store registered with the metadata, fencing any earlier process on it ({@code nodeEpoch}). */
        NODE_REGISTERED,
        /** Compaction replaced objects ({@code removed}, {@code added}: counts; {@code addedKeys}). */
        OBJECTS_REPLACED,
        /** Garbage collection deleted objects from the object store ({@code deleted}: count; {@code keys}). */
        GARBAGE_DELETED,
        /** A quota was set or removed ({@code scope}: stream or tenant; {@code appendBytesPerSecond}, {@code catchUpReadBytesPerSecond}). */
        QUOTA_CHANGED,
        /**
         * A tenant's key was destroyed (crypto-shredding; {@code keyRecordsDeleted}: count): emitted
         * after the tombstone is written, the provider destroyed the master key and the tenant's key
         * records are deleted.
         */
        KEY_DESTROYED,
        /**
         * Garbage collection deleted a tenant's key records whose data keys protect no live data any
         * more (all batches under them trimmed, deleted or compacted away; {@code deleted}: count;
         * {@code dataKeyIds}: hex ids).
         */
        KEY_RECORDS_DELETED,
        /**
         * A tenant's data keys were re-wrapped under the key provider's current master key
         * ({@code rewrapped}: count of key records replaced).
         */
        KEY_REWRAPPED
    }

    public AuditEvent {
        if (type == null || tenant == null || actor == null || details == null) {
            throw new IllegalArgumentException("type, tenant, actor and details must not be null");
        }
        details = Map.copyOf(details);
    }
}
