package dev.strata.wal;

import static dev.strata.wal.WalRecordDescriptor.HEADER_BYTES;

import dev.strata.api.BackpressureException;
import dev.strata.wal.api.WalAppendResult;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.Condition;

/**
 * Groups appended records into writes: the pool of aligned write buffers, the group being filled
 * ({@code open}) and the sealed groups waiting for an in-flight slot. Decides where each record goes
 * in the ring and refuses what does not fit (backpressure).
 *
 * <p>Concurrency: not thread-safe on its own; every method must be called holding the WAL's lock
 * ({@code BlockDeviceWal.lock}), which guards every mutable field below. {@code roomChanged} is a
 * condition of that lock, signalled when a buffer comes back to the pool. The fields carry
 * {@code // guarded by: lock} comments, not {@code @GuardedBy}: Error Prone cannot tie the lock its
 * callers hold ({@code BlockDeviceWal.lock}) to an expression of this class.
 *
 * <p>Grouping rule: a group is sealed when the caller finds an in-flight slot free (so a lone
 * append is written at once), when it reaches {@code groupCommitBytes} while another buffer is free,
 * when the next record does not fit its buffer, or when the lap ends (a write never crosses the
 * physical end of the ring: a padding record covers the rest of the lap). Records that arrive while
 * writes are in flight therefore share the next write. Each write is padded with zeros to the block
 * size; the next group starts at the next block boundary, so writes in flight never share a block.
 *
 * <p>Backpressure: a record that does not fit between the write position and the durable trim
 * point plus capacity, or that finds every buffer in use, is refused with
 * {@link BackpressureException}; nothing untrimmed is overwritten. {@link #admits} answers the same
 * question without changing anything, so that waiting ({@code awaitRoom}) and admission are one rule.
 */
final class GroupCommit {
    private final Path path;
    private final int blockSize;
    private final long capacity;
    private final int bufferBytes;
    private final int bufferCount;
    private final int groupCommitBytes;
    private final Condition roomChanged;

    private final ArrayDeque<ByteBuffer> freeBuffers = new ArrayDeque<>(); // guarded by: lock
    private final ArrayDeque<WriteGroup> sealed = new ArrayDeque<>(); // guarded by: lock
    private WriteGroup open; // guarded by: lock
    private ByteBuffer openPrefix; // guarded by: lock; recovered tail bytes for the first group
    private long nextGroupStart; // guarded by: lock
    private long nextGroupSequence; // guarded by: lock
    private long generation; // guarded by: lock

    GroupCommit(Path path, int blockSize, long capacity, int bufferBytes, int bufferCount, int groupCommitBytes,
            Condition roomChanged) {
        this.path = path;
        this.blockSize = blockSize;
        this.capacity = capacity;
        this.bufferBytes = bufferBytes;
        this.bufferCount = bufferCount;
        this.groupCommitBytes = groupCommitBytes;
        this.roomChanged = roomChanged;
        for (int i = 0; i < bufferCount; i++) {
            freeBuffers.add(Buffers.allocateAligned(bufferBytes, blockSize));
        }
    }

    /**
     * Starts the log at {@code end} (found by recovery) in {@code generation}: the first group begins
     * at the block boundary below it, with {@code tail} (the bytes from there to {@code end}, or null)
     * rewritten as its prefix. Holds: lock.
     */
    void start(long end, ByteBuffer tail, long generation) {
        this.generation = generation;
        this.nextGroupStart = WalMath.alignDown(end, blockSize);
        this.openPrefix = tail;
    }

    /**
     * Encodes the record into the open group (a copy of {@code body}'s readable bytes; the caller
     * keeps {@code body}); returns the refusal, or null. Holds: lock.
     */
    BackpressureException place(ByteBuf body, int crc, CompletableFuture<WalAppendResult> future, long trimPosition) {
        long encoded = WalRecordDescriptor.encodedLength(body.readableBytes());
        long limit = WalMath.alignDown(trimPosition, blockSize) + capacity;
        while (true) {
            if (open == null) {
                ByteBuffer buf = freeBuffers.poll();
                if (buf == null) {
                    return new BackpressureException("WAL write buffers all in use: file=" + path
                            + " buffers=" + bufferCount + " bufferBytes=" + bufferBytes);
                }
                open = new WriteGroup(nextGroupSequence++, nextGroupStart, buf, generation, blockSize, openPrefix);
                openPrefix = null;
            }
            long pos = open.endPosition();
            long lapEnd = (pos / capacity + 1) * capacity;
            boolean fitsLap = pos + encoded == lapEnd || pos + encoded + HEADER_BYTES <= lapEnd;
            if (!fitsLap) {
                if (lapEnd + encoded > limit) {
                    return full(encoded, limit, trimPosition);
                }
                if (!open.hasRoom(HEADER_BYTES)) {
                    sealOpen();
                    continue;
                }
                open.addPadding(lapEnd);
                sealOpen();
                continue;
            }
            if (pos + encoded > limit) {
                return full(encoded, limit, trimPosition);
            }
            if (!open.hasRoom(encoded + HEADER_BYTES)) {
                sealOpen();
                continue;
            }
            open.addRecord(body, crc, future);
            // a write never crosses the physical end of the ring: a record ending the lap ends its write
            // the soft limit seals a group only while another buffer is free: when every buffer is
            // taken, the open group keeps absorbing appends up to its capacity instead of refusing them
            if ((open.fill() >= groupCommitBytes && !freeBuffers.isEmpty())
                    || open.endPosition() % capacity == 0) {
                sealOpen();
            }
            return null;
        }
    }

    private BackpressureException full(long encoded, long limit, long trimPosition) {
        long pos = open != null ? open.endPosition() : nextGroupStart;
        return new BackpressureException("WAL full: file=" + path + " recordBytes=" + encoded + " writePosition="
                + pos + " trimPosition=" + trimPosition + " limit=" + limit + " capacity=" + capacity);
    }

    /**
     * Whether {@link #place} would accept a record of {@code encoded} bytes now: the same steps
     * (lap-end padding, sealing a full group, taking a buffer, the trim limit) on copies of the
     * state, changing nothing. Holds: lock.
     */
    boolean admits(long encoded, long trimPosition) {
        long limit = WalMath.alignDown(trimPosition, blockSize) + capacity;
        int buffers = freeBuffers.size();
        long start;
        long fill;
        if (open != null) {
            start = open.start;
            fill = open.fill();
        } else {
            if (buffers == 0) {
                return false;
            }
            buffers--;
            start = nextGroupStart;
            fill = openPrefix != null ? openPrefix.remaining() : 0;
        }
        while (true) {
            long pos = start + fill;
            long lapEnd = (pos / capacity + 1) * capacity;
            boolean fitsLap = pos + encoded == lapEnd || pos + encoded + HEADER_BYTES <= lapEnd;
            if (fitsLap) {
                if (pos + encoded > limit) {
                    return false;
                }
                if (fill + encoded + HEADER_BYTES <= bufferBytes) {
                    return true;
                }
                start += WalMath.alignUp(fill, blockSize); // sealed: the next group starts at the next block
            } else {
                if (lapEnd + encoded > limit) {
                    return false;
                }
                // padded to the lap end and sealed, or (no room for the padding header) sealed as it is
                start = fill + HEADER_BYTES <= bufferBytes ? lapEnd : start + WalMath.alignUp(fill, blockSize);
            }
            if (buffers == 0) {
                return false;
            }
            buffers--;
            fill = 0;
        }
    }

    /** Moves the open group (if it has records) to the sealed queue. Holds: lock. */
    private void sealOpen() {
        WriteGroup g = open;
        open = null;
        if (g == null) {
            return;
        }
        if (g.recordCount() == 0) {
            if (g.fill() > 0) {
                // only the recovered prefix: keep it for the next group
                openPrefix = g.buffer.duplicate().limit(g.fill()).position(0);
                ByteBuffer copy = ByteBuffer.allocate(g.fill());
                copy.put(openPrefix).flip();
                openPrefix = copy;
            }
            release(g.buffer);
            return;
        }
        nextGroupStart = g.seal();
        sealed.add(g);
    }

    /**
     * The next group to write, sealed in sequence order: the oldest sealed group, else the open
     * group if it has records (sealed now); null if nothing waits. Holds: lock.
     */
    WriteGroup next() {
        WriteGroup g = sealed.poll();
        if (g == null && open != null && open.recordCount() > 0) {
            sealOpen();
            g = sealed.poll();
        }
        return g;
    }

    /**
     * callerWritesWhenIdle: the open group, sealed now, if it has records and no sealed group waits
     * before it; else null. Holds: lock.
     */
    WriteGroup nextIfOnlyOpen() {
        if (!sealed.isEmpty() || open == null || open.recordCount() == 0) {
            return null;
        }
        return next();
    }

    /** Whether records wait to be written (sealed, or in the open group). Holds: lock. */
    boolean hasUnwritten() {
        return !sealed.isEmpty() || (open != null && open.recordCount() > 0);
    }

    /** Returns a write buffer to the pool (its write completed, or its group was dropped). Holds: lock. */
    void release(ByteBuffer buffer) {
        freeBuffers.add(buffer);
        roomChanged.signalAll();
    }

    /**
     * After a failure with nothing in flight: fails every sealed group and the open one, adding their
     * futures' completions to {@code out} in order, and takes their buffers back. Holds: lock.
     */
    void failAll(Throwable failure, List<Runnable> out) {
        for (WriteGroup g; (g = sealed.poll()) != null; ) {
            g.fail(failure, out);
            freeBuffers.add(g.buffer);
        }
        if (open != null) {
            open.fail(failure, out);
            freeBuffers.add(open.buffer);
            open = null;
        }
    }

    /** Position the next appended record would get. Holds: lock. */
    long writePosition() {
        return open != null ? open.endPosition() : nextGroupStart + (openPrefix != null ? openPrefix.remaining() : 0);
    }
}
