package dev.strata.cache;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A unit of upload and eviction in the {@link LogCache}: batches of any streams in append order.
 * Moves through {@link State#OPEN} -> {@link State#SEALED} -> {@link State#TAKEN} ->
 * {@link State#UPLOADED} (evictable); an aborted upload goes back from TAKEN to SEALED.
 *
 * <p>Thread-safety: inserts holding the cache's read lock add batches concurrently (a lock-free
 * queue and an atomic byte count); everything else reads and changes a block under the cache's
 * write lock, so it sees every batch of the inserts that completed before. The block owns one
 * reference of each batch buffer, released when the cache (on eviction or close) and every
 * {@link SealedBlock} of the block have let go of it.
 */
final class LogCacheBlock {
    enum State { OPEN, SEALED, TAKEN, UPLOADED }

    final long id;
    // written under LogCache.lock's write lock, or under LogCache.rollover (with the read lock) by
    // the insert that fills the open block; read under the write lock
    State state = State.OPEN;
    // added to concurrently under LogCache.lock's read lock; read under its write lock
    final Queue<CachedBatch> batches = new ConcurrentLinkedQueue<>();
    // sum of memoryBytes of batches
    private final AtomicLong memoryBytes = new AtomicLong();
    // holders of the batches' buffers: the cache until it evicts the block or closes, plus each
    // SealedBlock not yet closed; the last to let go releases them (one reference each)
    private final AtomicInteger holders = new AtomicInteger(1);

    LogCacheBlock(long id) {
        this.id = id;
    }

    /** Adds a batch; returns the block's memory bytes including it. */
    long add(CachedBatch batch) {
        batches.add(batch);
        return memoryBytes.addAndGet(batch.memoryBytes());
    }

    long memoryBytes() {
        return memoryBytes.get();
    }

    /** Adds a holder of the buffers. Caller is a holder (the cache, under its write lock). */
    void retainBuffers() {
        if (holders.getAndIncrement() <= 0) {
            throw new IllegalStateException("buffers of " + this + " already released");
        }
    }

    /** Drops a holder; the last one releases every batch buffer (the block's one reference of each). */
    void releaseBuffers() {
        int left = holders.decrementAndGet();
        if (left == 0) {
            for (CachedBatch b : batches) {
                b.data().release();
            }
        } else if (left < 0) {
            throw new IllegalStateException("buffers of " + this + " released twice");
        }
    }

    @Override
    public String toString() {
        return "LogCacheBlock[id=" + id + " state=" + state + " batches=" + batches.size()
                + " memoryBytes=" + memoryBytes + "]";
    }
}
