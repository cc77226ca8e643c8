package dev.strata.cache;

import io.netty.buffer.ByteBuf;
import java.util.Arrays;

/**
 * Batches kept by the {@link LogCache}, one array per field ("columns"), so that a cached batch is a
 * few array slots and no heap object of its own: the young collector then copies a handful of arrays,
 * not several objects per batch (see {@link AppendSlabs}).
 *
 * <p>A batch's bytes are either a position in a slab of the cache's {@link AppendSlabs} (the
 * {@code memory} slot holds the {@link AppendSlabs.Slab}, and the entry one hold of it) or, for
 * buffers the slabs did not carve (large batches, WAL replay), the buffer itself (the entry owns
 * one reference of it). Rows can be dropped from the front ({@link #dropFirst}); the arrays are
 * compacted when the dropped prefix is more than half of them.
 *
 * <p>Not thread-safe: the owner (a {@link StreamIndex} under its lock, a {@link LogCacheBlock}
 * under its monitor) guards it.
 */
final class BatchColumns {
    private static final int INITIAL_ROWS = 64;

    private long[] streamIds;
    private long[] baseOffsets;
    private int[] counts;
    private int[] sizes;
    private Object[] memory;
    private int[] memoryIndex;
    private int[] lengths;
    /** First live row. */
    private int head;
    /** One past the last row. */
    private int end;

    BatchColumns() {
        streamIds = new long[INITIAL_ROWS];
        baseOffsets = new long[INITIAL_ROWS];
        counts = new int[INITIAL_ROWS];
        sizes = new int[INITIAL_ROWS];
        memory = new Object[INITIAL_ROWS];
        memoryIndex = new int[INITIAL_ROWS];
        lengths = new int[INITIAL_ROWS];
    }

    /** Adds a row at the end; returns its row number (stable until rows are dropped). */
    int add(long streamId, long baseOffset, int count, int sizeBytes, Object mem, int memIndex, int length) {
        if (end == baseOffsets.length) {
            grow();
        }
        int row = end++;
        streamIds[row] = streamId;
        baseOffsets[row] = baseOffset;
        counts[row] = count;
        sizes[row] = sizeBytes;
        memory[row] = mem;
        memoryIndex[row] = memIndex;
        lengths[row] = length;
        return row - head;
    }

    /** Copies row {@code i} of {@code other} to the end of this. */
    void addFrom(BatchColumns other, int i) {
        int r = other.head + i;
        add(other.streamIds[r], other.baseOffsets[r], other.counts[r], other.sizes[r], other.memory[r],
                other.memoryIndex[r], other.lengths[r]);
    }

    /** Live rows. */
    int size() {
        return end - head;
    }

    boolean isEmpty() {
        return end == head;
    }

    long streamId(int i) {
        return streamIds[head + i];
    }

    long baseOffset(int i) {
        return baseOffsets[head + i];
    }

    int count(int i) {
        return counts[head + i];
    }

    long nextOffset(int i) {
        return baseOffsets[head + i] + counts[head + i];
    }

    int sizeBytes(int i) {
        return sizes[head + i];
    }

    int length(int i) {
        return lengths[head + i];
    }

    /** Whether row {@code i} refers to the same bytes as row {@code j} of {@code other}. */
    boolean sameBytes(int i, BatchColumns other, int j) {
        return memory[head + i] == other.memory[other.head + j]
                && memoryIndex[head + i] == other.memoryIndex[other.head + j];
    }

    /**
     * A buffer of row {@code i}'s bytes with its own reference (the caller releases it): a slab view
     * holding the slab, or a retained duplicate of the kept buffer.
     */
    ByteBuf retainedView(int i, AppendSlabs slabs) {
        int r = head + i;
        Object mem = memory[r];
        if (mem instanceof AppendSlabs.Slab slab) {
            return slabs.view(slab, memoryIndex[r], lengths[r]);
        }
        return ((ByteBuf) mem).retainedDuplicate();
    }

    /** A view of row {@code i} for a reader: a {@link CachedBatch} owning one reference of its buffer. */
    CachedBatch retainedBatch(int i, AppendSlabs slabs) {
        int r = head + i;
        return new CachedBatch(streamIds[r], baseOffsets[r], counts[r], sizes[r], retainedView(i, slabs));
    }

    /** Gives back row {@code i}'s hold of its bytes (a slab hold, or the buffer's reference). */
    void releaseBytes(int i, AppendSlabs slabs) {
        int r = head + i;
        Object mem = memory[r];
        memory[r] = null;
        if (mem instanceof AppendSlabs.Slab slab) {
            slabs.releaseHold(slab);
        } else if (mem != null) {
            ((ByteBuf) mem).release();
        }
    }

    /** Forgets the first {@code n} rows (their bytes are someone else's to release). */
    void dropFirst(int n) {
        if (n < 0 || n > size()) {
            throw new IllegalArgumentException("cannot drop " + n + " of " + size() + " rows");
        }
        Arrays.fill(memory, head, head + n, null); // no stale references to slabs or buffers
        head += n;
        if (head == end) {
            head = 0;
            end = 0;
        } else if (head > INITIAL_ROWS && head > (end >>> 1)) {
            compact();
        }
    }

    /** Drops every row. */
    void clear() {
        Arrays.fill(memory, head, end, null);
        head = 0;
        end = 0;
    }

    private void compact() {
        int n = end - head;
        System.arraycopy(streamIds, head, streamIds, 0, n);
        System.arraycopy(baseOffsets, head, baseOffsets, 0, n);
        System.arraycopy(counts, head, counts, 0, n);
        System.arraycopy(sizes, head, sizes, 0, n);
        System.arraycopy(memory, head, memory, 0, n);
        System.arraycopy(memoryIndex, head, memoryIndex, 0, n);
        System.arraycopy(lengths, head, lengths, 0, n);
        Arrays.fill(memory, n, end, null);
        head = 0;
        end = n;
    }

    private void grow() {
        if (head > 0) {
            compact();
            if (end < baseOffsets.length) {
                return;
            }
        }
        int rows = baseOffsets.length * 2;
        streamIds = Arrays.copyOf(streamIds, rows);
        baseOffsets = Arrays.copyOf(baseOffsets, rows);
        counts = Arrays.copyOf(counts, rows);
        sizes = Arrays.copyOf(sizes, rows);
        memory = Arrays.copyOf(memory, rows);
        memoryIndex = Arrays.copyOf(memoryIndex, rows);
        lengths = Arrays.copyOf(lengths, rows);
    }
}
