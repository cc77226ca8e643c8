package dev.strata.cache;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A unit of upload and eviction in the {@link LogCache}: batches of any streams in append order.
 * Moves through {@link State#OPEN} -> {@link State#SEALED} -> {@link State#TAKEN} ->
 * {@link State#UPLOADED} (evictable); an aborted upload goes back from TAKEN to SEALED.
 *
 * <p>Thread-safety: inserts holding the cache's read lock add batches concurrently, each under the
 * block's monitor (the rows are {@link BatchColumns}: arrays, no object per batch); everything else
 * reads and changes a block under the cache's write lock, and reads its rows under the monitor, so
 * it sees every batch of the inserts that completed before. The block owns each batch's bytes (a
 * slab hold or a buffer reference), released when the cache (on eviction or close) and every
 * {@link SealedBlock} of the block have let go of them.
 */
final class LogCacheBlock {
    enum State { OPEN, SEALED, TAKEN, UPLOADED }

    final long id;
    private final AppendSlabs slabs;
    // written under LogCache.lock's write lock, or under LogCache.rollover (with the read lock) by
    // the insert that fills the open block; read under the write lock
    State state = State.OPEN;
    @GuardedBy("this")
    private final BatchColumns rows = new BatchColumns();
    // sum of the rows' lengths
    private final AtomicLong memoryBytes = new AtomicLong();
    // holders of the batches' bytes: the cache until it evicts the block or closes, plus each
    // SealedBlock not yet closed; the last to let go releases them
    private final AtomicInteger holders = new AtomicInteger(1);

    /** @param slabs the cache's slabs (views of slab rows come from them), or null if it has none */
    LogCacheBlock(long id, AppendSlabs slabs) {
        this.id = id;
        this.slabs = slabs;
    }

    /**
     * Adds a batch whose bytes the block now owns (see {@link BatchColumns}) and lists it in its
     * stream's {@code index}; returns the block's memory bytes including it. Caller holds the
     * cache's read lock and the index's write lock, and checked {@link StreamIndex#checkContiguous}.
     */
    synchronized long add(StreamIndex index, long baseOffset, int count, int sizeBytes, Object mem, int memIndex,
            int length) {
        int row = rows.add(index.streamId, baseOffset, count, sizeBytes, mem, memIndex, length);
        index.append(rows, row);
        return memoryBytes.addAndGet(length);
    }

    long memoryBytes() {
        return memoryBytes.get();
    }

    synchronized boolean isEmpty() {
        return rows.isEmpty();
    }

    synchronized int batchCount() {
        return rows.size();
    }

    /**
     * Takes the block's rows out of the stream indexes that still list them as their oldest entry.
     * Caller holds the cache's write lock (so no insert, which takes a stream lock and then this
     * monitor, runs meanwhile).
     */
    synchronized void evictFrom(Map<Long, StreamIndex> streams) {
        for (int i = 0; i < rows.size(); i++) {
            StreamIndex index = streams.get(rows.streamId(i));
            if (index != null) {
                index.lock.writeLock().lock();
                try {
                    index.evict(rows, i);
                } finally {
                    index.lock.writeLock().unlock();
                }
            }
        }
    }

    /** Stream of row {@code i} (insertion order). */
    synchronized long streamIdAt(int i) {
        return rows.streamId(i);
    }

    /** Encoded bytes of row {@code i}. */
    synchronized int lengthAt(int i) {
        return rows.length(i);
    }

    /** Row {@code i}'s bytes as a new buffer with its own reference (the caller releases it). */
    synchronized ByteBuf retainedViewAt(int i) {
        return rows.retainedView(i, slabs);
    }

    /** The batches in insertion order, each a view with its own reference (the caller releases them). */
    synchronized List<CachedBatch> retainedBatches() {
        List<CachedBatch> out = new ArrayList<>(rows.size());
        for (int i = 0; i < rows.size(); i++) {
            out.add(rows.retainedBatch(i, slabs));
        }
        return out;
    }

    /** Adds a holder of the buffers. Caller is a holder (the cache, under its write lock). */
    void retainBuffers() {
        if (holders.getAndIncrement() <= 0) {
            throw new IllegalStateException("buffers of " + this + " already released");
        }
    }

    /** Drops a holder; the last one releases every batch's bytes. */
    void releaseBuffers() {
        int left = holders.decrementAndGet();
        if (left == 0) {
            synchronized (this) {
                for (int i = 0; i < rows.size(); i++) {
                    rows.releaseBytes(i, slabs);
                }
                rows.clear();
            }
        } else if (left < 0) {
            throw new IllegalStateException("buffers of " + this + " released twice");
        }
    }

    @Override
    public String toString() {
        return "LogCacheBlock[id=" + id + " state=" + state + " batches=" + batchCount()
                + " memoryBytes=" + memoryBytes + "]";
    }
}
