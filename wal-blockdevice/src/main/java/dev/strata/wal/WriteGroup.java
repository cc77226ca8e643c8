package dev.strata.wal;

import static dev.strata.wal.WalRecordDescriptor.HEADER_BYTES;

import dev.strata.wal.api.WalAppendResult;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One group-commit write: consecutive records encoded into a pooled aligned buffer, written with
 * one I/O. Not thread-safe: guarded by the WAL lock until it is submitted, then owned by the
 * backend until completion.
 *
 * <p>The group starts at a block-aligned logical position. Its first bytes may be a
 * {@code prefix}: the bytes already on the device between that block boundary and the end found
 * by recovery, rewritten unchanged so that the first new record continues the recovered chain
 * exactly where it ended.
 */
final class WriteGroup {
    final long sequence;
    final long start;
    final ByteBuffer buffer;
    private final long generation;
    private final int blockSize;
    private int fill;
    private int lastHeaderOffset = -1;
    private boolean lastIsPadding;
    private final List<CompletableFuture<WalAppendResult>> futures = new ArrayList<>();
    private long[] positions = new long[16];
    private long nextPosition = -1;
    private int writeLength;

    // completion state, guarded by the WAL lock
    boolean done;
    IOException error;

    WriteGroup(long sequence, long start, ByteBuffer buffer, long generation, int blockSize, ByteBuffer prefix) {
        this.sequence = sequence;
        this.start = start;
        this.buffer = buffer;
        this.generation = generation;
        this.blockSize = blockSize;
        if (prefix != null) {
            buffer.put(0, prefix, 0, prefix.remaining());
            fill = prefix.remaining();
        }
    }

    /** Logical position the next record in this group would get. */
    long endPosition() {
        return start + fill;
    }

    int fill() {
        return fill;
    }

    /** Records (including a padding record) in this group. */
    int recordCount() {
        return futures.size();
    }

    boolean hasRoom(long bytes) {
        return fill + bytes <= buffer.capacity();
    }

    /** Encodes a data record; copies the readable bytes of {@code body} (the caller still owns it). */
    long addRecord(ByteBuf body, int bodyCrc, CompletableFuture<WalAppendResult> future) {
        long position = start + fill;
        int length = body.readableBytes();
        // durable mark 0 until stampDurableMark: a mark of 0 never proves anything at recovery
        WalRecordDescriptor.writeHeader(buffer, fill, 0, position, generation, 0, length, bodyCrc);
        body.getBytes(body.readerIndex(), buffer.duplicate().limit(fill + HEADER_BYTES + length)
                .position(fill + HEADER_BYTES));
        add(position, future);
        lastHeaderOffset = fill;
        fill += HEADER_BYTES + length;
        return position;
    }

    /** Adds a padding record covering the rest of the lap up to {@code lapEnd}; the group must then be sealed. */
    void addPadding(long lapEnd) {
        long position = start + fill;
        WalRecordDescriptor.writeHeader(buffer, fill, WalRecordDescriptor.FLAG_PADDING, position, generation, 0,
                (int) (lapEnd - position - HEADER_BYTES), 0);
        add(position, null);
        lastHeaderOffset = fill;
        lastIsPadding = true;
        fill += HEADER_BYTES;
        nextPosition = lapEnd;
    }

    private void add(long position, CompletableFuture<WalAppendResult> future) {
        int i = futures.size();
        if (i == positions.length) {
            positions = Arrays.copyOf(positions, i * 2);
        }
        positions[i] = position;
        futures.add(future);
    }

    /**
     * Marks the last record, zeroes the padding up to the block boundary and fixes the write
     * length. Returns the position where the next group starts.
     */
    long seal() {
        if (lastHeaderOffset >= 0) {
            WalRecordDescriptor.addFlag(buffer, lastHeaderOffset, WalRecordDescriptor.FLAG_LAST_IN_WRITE);
        }
        writeLength = (int) WalMath.alignUp(fill, blockSize);
        Buffers.zero(buffer, fill, writeLength);
        if (!lastIsPadding) {
            nextPosition = start + writeLength;
        }
        return nextPosition;
    }

    /**
     * Stamps {@code durableMark} (the end of the WAL's contiguous durable prefix, now) into every
     * record header of this group, after {@link #seal()} and just before the write is submitted.
     * The recovered prefix, if any, keeps its own marks. See {@link WalRecordDescriptor}.
     */
    void stampDurableMark(long durableMark) {
        for (int i = 0, n = futures.size(); i < n; i++) {
            WalRecordDescriptor.setDurableMark(buffer, (int) (positions[i] - start), durableMark);
        }
    }

    int writeLength() {
        return writeLength;
    }

    long nextPosition() {
        return nextPosition;
    }

    /** Buffer view of the bytes to write. */
    ByteBuffer writeView() {
        return buffer.duplicate().limit(writeLength).position(0);
    }

    /** Adds, in record order, tasks that complete the data records' futures with their positions. */
    void succeed(List<Runnable> out) {
        int n = futures.size();
        for (int i = 0; i < n; i++) {
            CompletableFuture<WalAppendResult> f = futures.get(i);
            if (f != null) {
                WalAppendResult r = new WalAppendResult(positions[i], i + 1 < n ? positions[i + 1] : nextPosition);
                out.add(() -> f.complete(r));
            }
        }
    }

    /** Adds, in record order, tasks that fail the data records' futures with {@code error}. */
    void fail(Throwable error, List<Runnable> out) {
        for (CompletableFuture<WalAppendResult> f : futures) {
            if (f != null) {
                out.add(() -> f.completeExceptionally(error));
            }
        }
    }
}
