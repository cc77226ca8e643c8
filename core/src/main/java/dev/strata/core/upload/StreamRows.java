package dev.strata.core.upload;

import dev.strata.cache.SealedBlock;
import io.netty.buffer.ByteBuf;
import java.util.Arrays;
import java.util.List;

/**
 * One stream's batches in an upload, in append order: (block, row) pairs packed into a growable
 * {@code long[]}, so an upload of many small batches keeps a few arrays instead of an object per
 * batch alive while it writes (G1's young collections copy every such object, and an upload lasts
 * seconds). A batch's bytes become a buffer only when the object writer takes it
 * ({@link #retainedData}).
 *
 * <p>Not thread-safe: filled by the upload thread, then read by one writer thread (handed over
 * through the executor, which orders the two).
 */
final class StreamRows {
    private final List<SealedBlock> blocks;
    private long[] rows = new long[16];
    private int size;
    private long bytes;

    /** @param blocks the upload's blocks; a row's block is its index in this list */
    StreamRows(List<SealedBlock> blocks) {
        this.blocks = blocks;
    }

    /** Adds row {@code row} of block number {@code block}, of {@code encodedBytes}. */
    void add(int block, int row, int encodedBytes) {
        if (size == rows.length) {
            rows = Arrays.copyOf(rows, size * 2);
        }
        rows[size++] = ((long) block << 32) | (row & 0xFFFF_FFFFL);
        bytes += encodedBytes;
    }

    /** Number of batches. */
    int size() {
        return size;
    }

    /** Encoded bytes of all batches. */
    long bytes() {
        return bytes;
    }

    /** The {@code i}-th batch's bytes, a new buffer with one reference the caller owns. */
    ByteBuf retainedData(int i) {
        long packed = rows[i];
        return blocks.get((int) (packed >>> 32)).retainedData((int) packed);
    }
}
