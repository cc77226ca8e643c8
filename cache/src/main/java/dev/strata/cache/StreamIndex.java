package dev.strata.cache;

import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The cached batches of one stream, sorted by base offset (they are appended in offset order), with
 * an O(log n) lookup of the batch containing an offset.
 *
 * <p>Storage is {@link BatchColumns} (arrays, no object per batch) with a moving head: trimming and
 * eviction remove from the front (the oldest data goes first), appends add at the back, and the
 * arrays are compacted when the dead prefix is more than half of them, so both are amortised O(1).
 *
 * <p>Thread-safety: all state is guarded by {@link #lock}; readers ({@link LogCache#fetch}) take
 * the read lock, mutators the write lock. The index does not own the buffers: the blocks of the
 * {@link LogCache} do.
 */
final class StreamIndex {
    final long streamId;
    final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    // guarded by lock; the rows' bytes are owned by the blocks, not by the index
    private final BatchColumns entries = new BatchColumns();
    // guarded by lock; offset the next batch must start at, -1 before the first insert
    private long nextOffset = -1;

    StreamIndex(long streamId) {
        this.streamId = streamId;
    }

    /**
     * Caller holds the write lock. Throws if a batch at {@code baseOffset} would not continue the
     * stream's cached range.
     */
    void checkContiguous(long baseOffset) {
        if (nextOffset >= 0 && baseOffset != nextOffset) {
            throw new IllegalArgumentException("LogCache insert is not contiguous: stream=" + streamId
                    + " expectedBase=" + nextOffset + " base=" + baseOffset);
        }
    }

    /** Caller holds the write lock and checked {@link #checkContiguous}. Adds row {@code row} of a block. */
    void append(BatchColumns block, int row) {
        entries.addFrom(block, row);
        nextOffset = block.nextOffset(row);
    }

    /** Caller holds a lock. Offset after the last inserted batch, or -1 if none was ever inserted. */
    long nextOffset() {
        return nextOffset;
    }

    /** Caller holds a lock. Base offset of the first cached batch, or -1 when none is cached. */
    long firstOffset() {
        return entries.isEmpty() ? -1 : entries.baseOffset(0);
    }

    /**
     * Caller holds a lock. Row of the batch containing {@code offset}, or -1 when the offset is not
     * cached.
     */
    int find(long offset) {
        int lo = 0;
        int hi = entries.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (offset < entries.baseOffset(mid)) {
                hi = mid - 1;
            } else if (offset >= entries.nextOffset(mid)) {
                lo = mid + 1;
            } else {
                return mid;
            }
        }
        return -1;
    }

    /**
     * Caller holds a lock. Adds retained views of the batches from row {@code from}, stopping
     * before the first batch whose base is {@code >= endOffset} and, after the first batch, before
     * exceeding {@code maxBytes} of payload. Returns the offset after the last added batch.
     */
    long collect(int from, long endOffset, long maxBytes, List<CachedBatch> out, AppendSlabs slabs) {
        long bytes = 0;
        long next = entries.baseOffset(from);
        for (int i = from; i < entries.size(); i++) {
            if (entries.baseOffset(i) >= endOffset) {
                break;
            }
            int size = entries.sizeBytes(i);
            if (!out.isEmpty() && bytes + size > maxBytes) {
                break;
            }
            bytes += size;
            out.add(entries.retainedBatch(i, slabs));
            next = entries.nextOffset(i);
        }
        return next;
    }

    /** Caller holds the write lock. Forgets batches that end at or below {@code newStart}. */
    void trim(long newStart) {
        int n = 0;
        while (n < entries.size() && entries.nextOffset(n) <= newStart) {
            n++;
        }
        entries.dropFirst(n);
    }

    /**
     * Caller holds the write lock. Forgets row {@code row} of {@code block} if it is the oldest entry
     * (the block that holds it is being evicted); a no-op when a trim already forgot it.
     */
    void evict(BatchColumns block, int row) {
        if (!entries.isEmpty() && entries.sameBytes(0, block, row)) {
            entries.dropFirst(1);
        }
    }

    /** Caller holds a lock. Number of cached batches. */
    int size() {
        return entries.size();
    }
}
