package dev.strata.core.upload;

import dev.strata.objectstore.ObjectKeys;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Names new data objects and remembers which of them are still being written or committed.
 *
 * <p>Ids are {@code nodeEpoch << 32 | sequence}: unique across processes because every process
 * registers a new node epoch, and within a process because the sequence only grows. A key is
 * <em>in flight</em> from {@link #allocate} until {@link #settle}: the uploader and the compactor
 * settle a key once its commit succeeded or once they gave the object up (it is then an orphan).
 * The orphan sweep never touches an in-flight key: the object may be written but not committed
 * yet. Callers settle only after the commit is applied to the metadata, so a key the sweep sees
 * as settled is either committed or an orphan.
 *
 * <p>Thread-safe.
 */
public final class ObjectKeyAllocator {
    private final LongSupplier nodeEpoch;
    private final AtomicLong sequence = new AtomicLong();
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();

    public ObjectKeyAllocator(LongSupplier nodeEpoch) {
        this.nodeEpoch = nodeEpoch;
    }

    /** A new, never used key for an object of {@code type}; in flight until settled. */
    public String allocate(dev.strata.core.metadata.ObjectType type) {
        long id = (Math.max(0, nodeEpoch.getAsLong()) << 32) | (sequence.getAndIncrement() & 0xFFFF_FFFFL);
        String key = ObjectKeys.dataObjectKey(type == dev.strata.core.metadata.ObjectType.STREAM
                ? ObjectKeys.ObjectType.STREAM : ObjectKeys.ObjectType.STREAM_SET, id);
        inFlight.add(key);
        return key;
    }

    /** The object is committed or given up; the sweep may judge it from now on. */
    public void settle(String key) {
        inFlight.remove(key);
    }

    public boolean isInFlight(String key) {
        return inFlight.contains(key);
    }
}
