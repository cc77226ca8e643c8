package dev.strata.cache;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The cached batches of one stream, sorted by base offset (they are appended in offset order), with
 * an O(log n) lookup of the batch containing an offset.
 *
 * <p>Storage is an array list with a moving head: trimming and eviction remove from the front
 * (the oldest data goes first), appends add at the back, and the list is compacted when the dead
 * prefix is more than half of it, so both are amortised O(1).
 *
 * <p>Thread-safety: all state is guarded by {@link #lock}; readers ({@link LogCache#fetch}) take
 * the read lock, mutators the write lock. The index does not own the buffers: the blocks of the
 * {@link LogCache} do.
 */
final class StreamIndex {
    final long streamId;
    final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    // guarded by lock
    private final ArrayList<CachedBatch> entries = new ArrayList<>();
    // guarded by lock; index of the first live entry in entries
    private int head;
    // guarded by lock; offset the next batch must start at, -1 before the first insert
    private long nextOffset = -1;

    StreamIndex(long streamId) {
        this.streamId = streamId;
    }

    /** Caller holds the write lock. */
    void append(CachedBatch batch) {
        if (nextOffset >= 0 && batch.baseOffset() != nextOffset) {
            throw new IllegalArgumentException("LogCache insert is not contiguous: stream=" + streamId
                    + " expectedBase=" + nextOffset + " base=" + batch.baseOffset());
        }
        entries.add(batch);
        nextOffset = batch.nextOffset();
    }

    /** Caller holds a lock. Offset after the last inserted batch, or -1 if none was ever inserted. */
    long nextOffset() {
        return nextOffset;
    }

    /** Caller holds a lock. Base offset of the first cached batch, or -1 when none is cached. */
    long firstOffset() {
        return head < entries.size() ? entries.get(head).baseOffset() : -1;
    }

    /**
     * Caller holds a lock. Position in the backing list of the batch containing {@code offset}, or -1
     * when the offset is not cached.
     */
    int find(long offset) {
        int lo = head;
        int hi = entries.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            CachedBatch b = entries.get(mid);
            if (offset < b.baseOffset()) {
                hi = mid - 1;
            } else if (offset >= b.nextOffset()) {
                lo = mid + 1;
            } else {
                return mid;
            }
        }
        return -1;
    }

    /**
     * Caller holds a lock. Adds retained views of the batches from position {@code from}, stopping
     * before the first batch whose base is {@code >= endOffset} and, after the first batch, before
     * exceeding {@code maxBytes} of payload. Returns the offset after the last added batch.
     */
    long collect(int from, long endOffset, long maxBytes, List<CachedBatch> out) {
        long bytes = 0;
        long next = entries.get(from).baseOffset();
        for (int i = from; i < entries.size(); i++) {
            CachedBatch b = entries.get(i);
            if (b.baseOffset() >= endOffset) {
                break;
            }
            if (!out.isEmpty() && bytes + b.sizeBytes() > maxBytes) {
                break;
            }
            bytes += b.sizeBytes();
            out.add(b.retainedView());
            next = b.nextOffset();
        }
        return next;
    }

    /** Caller holds the write lock. Forgets batches that end at or below {@code newStart}. */
    void trim(long newStart) {
        while (head < entries.size() && entries.get(head).nextOffset() <= newStart) {
            entries.set(head++, null);
        }
        compact();
    }

    /**
     * Caller holds the write lock. Forgets {@code batch} if it is the oldest entry (the block that
     * holds it is being evicted); a no-op when a trim already forgot it.
     */
    void evict(CachedBatch batch) {
        if (head < entries.size() && entries.get(head) == batch) {
            entries.set(head++, null);
            compact();
        }
    }

    /** Caller holds a lock. Number of cached batches. */
    int size() {
        return entries.size() - head;
    }

    private void compact() {
        if (head == entries.size()) {
            entries.clear();
            head = 0;
        } else if (head > 64 && head > entries.size() / 2) {
            entries.subList(0, head).clear();
            head = 0;
        }
    }
}
