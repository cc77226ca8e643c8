package dev.strata.wal;

import static dev.strata.wal.WalRecordDescriptor.BODY_CRC_OFFSET;
import static dev.strata.wal.WalRecordDescriptor.FLAGS_OFFSET;
import static dev.strata.wal.WalRecordDescriptor.FLAG_PADDING;
import static dev.strata.wal.WalRecordDescriptor.GENERATION_OFFSET;
import static dev.strata.wal.WalRecordDescriptor.HEADER_BYTES;
import static dev.strata.wal.WalRecordDescriptor.HEADER_CRC_OFFSET;
import static dev.strata.wal.WalRecordDescriptor.KNOWN_FLAGS;
import static dev.strata.wal.WalRecordDescriptor.LENGTH_OFFSET;
import static dev.strata.wal.WalRecordDescriptor.MAGIC;
import static dev.strata.wal.WalRecordDescriptor.MAGIC_OFFSET;
import static dev.strata.wal.WalRecordDescriptor.POSITION_OFFSET;

import dev.strata.wal.RecoveryReport.StopReason;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * Walks the record chain of the data ring from a start position and stops at the first record
 * that fails a check (see {@link WalRecordDescriptor} for the chain rule and
 * {@link WalHeaderDescriptor} for the generation rule). Reads in large block-aligned chunks (not
 * one read per record), so a scan runs near sequential read speed. Not thread-safe; one scan per
 * instance.
 */
final class RecordScanner {

    /** Bytes per read while scanning: large enough to reach sequential read bandwidth (io.md §6c). */
    static final int READ_CHUNK_BYTES = 1 << 20;

    /** Scan parameters that come from the header. */
    record Params(int blockSize, long capacity, long dataOffset, long start, long headerGeneration,
            long generationStart) {
    }

    private final WalFile file;
    private final Params p;
    private final long hardLimit;
    private final long endLimit;
    private final ByteBuffer buf;
    private final ByteBuffer le;
    private long bufPos;
    private int bufLen;

    private long position;
    private long prevGeneration = Long.MIN_VALUE;
    private long records;
    private long bodyBytes;
    private long paddingBytes;
    private long tornBytes;
    private StopReason stopReason;
    private String detail = "";

    // the current record (valid after next() returned true)
    private long recPosition;
    private long recNext;
    private int recBodyOffset;
    private int recLength;

    /**
     * @param maxRecordBytes largest body the WAL accepts; the buffer holds one whole record
     * @param end where to stop with {@link StopReason#END_OF_LOG} (a previous scan's end), or -1
     */
    RecordScanner(WalFile file, Params params, int maxRecordBytes, long end) {
        this.file = file;
        this.p = params;
        this.hardLimit = WalMath.alignDown(params.start(), params.blockSize()) + params.capacity();
        this.endLimit = end;
        int size = (int) WalMath.alignUp((long) READ_CHUNK_BYTES + maxRecordBytes + 2L * HEADER_BYTES
                + params.blockSize(), params.blockSize());
        this.buf = Buffers.allocateAligned(size, params.blockSize());
        this.le = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.position = params.start();
        this.bufPos = WalMath.alignDown(params.start(), params.blockSize());
        this.bufLen = 0;
    }

    /**
     * Advances to the next data record (skipping padding records).
     *
     * @return false once the scan stopped; {@link #stopReason()} says why
     */
    boolean next() throws IOException {
        while (stopReason == null) {
            if (endLimit >= 0 && position >= endLimit) {
                stop(StopReason.END_OF_LOG, 0, "reached the end found at open: position=" + position);
                return false;
            }
            if (position + HEADER_BYTES > hardLimit) {
                stop(StopReason.CAPACITY_REACHED, 0, "a full ring past the trim point: position=" + position);
                return false;
            }
            int h = ensure(position, HEADER_BYTES);
            int magic = le.getInt(h + MAGIC_OFFSET);
            if (magic != MAGIC) {
                if (allZero(h, HEADER_BYTES)) {
                    stop(StopReason.END_OF_LOG, 0, "no record at position=" + position);
                } else {
                    stop(StopReason.INVALID_HEADER, bytesToBlockEnd(), "bad magic at position=" + position
                            + " stored=0x" + Integer.toHexString(magic));
                }
                return false;
            }
            int storedHeaderCrc = le.getInt(h + HEADER_CRC_OFFSET);
            int computedHeaderCrc = WalRecordDescriptor.headerCrc(le, h);
            if (storedHeaderCrc != computedHeaderCrc) {
                stop(StopReason.HEADER_CRC_MISMATCH, bytesToBlockEnd(), "record header CRC mismatch: position="
                        + position + " stored=0x" + Integer.toHexString(storedHeaderCrc) + " computed=0x"
                        + Integer.toHexString(computedHeaderCrc));
                return false;
            }
            long stamped = le.getLong(h + POSITION_OFFSET);
            if (stamped != position) {
                stop(StopReason.POSITION_MISMATCH, 0, "record from another lap: position=" + position
                        + " stamped=" + stamped);
                return false;
            }
            long generation = le.getLong(h + GENERATION_OFFSET);
            if (!generationValid(position, generation)) {
                stop(StopReason.STALE_GENERATION, 0, "record of a cut-off generation: position=" + position
                        + " generation=" + generation + " previous=" + prevGeneration + " headerGeneration="
                        + p.headerGeneration() + " generationStart=" + p.generationStart());
                return false;
            }
            int flags = le.getInt(h + FLAGS_OFFSET);
            int length = le.getInt(h + LENGTH_OFFSET);
            long lapEnd = (position / p.capacity() + 1) * p.capacity();
            long end = position + HEADER_BYTES + (long) length;
            boolean padding = (flags & FLAG_PADDING) != 0;
            if ((flags & ~KNOWN_FLAGS) != 0 || length < 0 || end > lapEnd || (padding && end != lapEnd)
                    || end > hardLimit || (!padding && length > buf.capacity() - 2 * HEADER_BYTES - p.blockSize())) {
                stop(StopReason.INVALID_HEADER, bytesToBlockEnd(), "impossible record header: position=" + position
                        + " flags=" + flags + " length=" + length + " lapEnd=" + lapEnd);
                return false;
            }
            long next = WalRecordDescriptor.nextPosition(position, flags, length, p.blockSize());
            if (padding) {
                paddingBytes += next - position;
                prevGeneration = generation;
                position = next;
                continue;
            }
            int r = ensure(position, HEADER_BYTES + length);
            int storedBodyCrc = le.getInt(r + BODY_CRC_OFFSET);
            CRC32C crc = new CRC32C();
            crc.update(buf.duplicate().limit(r + HEADER_BYTES + length).position(r + HEADER_BYTES));
            int computedBodyCrc = (int) crc.getValue();
            if (storedBodyCrc != computedBodyCrc) {
                stop(StopReason.BODY_CRC_MISMATCH, HEADER_BYTES + (long) length, "record body CRC mismatch: position="
                        + position + " length=" + length + " stored=0x" + Integer.toHexString(storedBodyCrc)
                        + " computed=0x" + Integer.toHexString(computedBodyCrc));
                return false;
            }
            recPosition = position;
            recNext = next;
            recBodyOffset = r + HEADER_BYTES;
            recLength = length;
            records++;
            bodyBytes += length;
            paddingBytes += next - end;
            prevGeneration = generation;
            position = next;
            return true;
        }
        return false;
    }

    /**
     * The generation rule: at or past the current generation's start only that generation; before
     * it only older ones; and never decreasing along the chain.
     */
    private boolean generationValid(long pos, long generation) {
        boolean inCurrent = pos >= p.generationStart();
        boolean matches = inCurrent ? generation == p.headerGeneration() : generation < p.headerGeneration();
        return matches && generation >= prevGeneration;
    }

    long recordPosition() {
        return recPosition;
    }

    long recordNextPosition() {
        return recNext;
    }

    int recordLength() {
        return recLength;
    }

    /** The current record's body; valid until the next call to {@link #next()}. */
    ByteBuffer recordBody() {
        return buf.duplicate().limit(recBodyOffset + recLength).position(recBodyOffset).slice();
    }

    /** Position after the last valid record: where the next record goes. */
    long position() {
        return position;
    }

    StopReason stopReason() {
        return stopReason;
    }

    RecoveryReport report(long nodeEpoch) {
        return new RecoveryReport(p.start(), position, records, bodyBytes, paddingBytes, tornBytes, stopReason,
                detail, p.headerGeneration(), nodeEpoch);
    }

    private void stop(StopReason reason, long torn, String why) {
        stopReason = reason;
        tornBytes = torn;
        detail = why;
    }

    private long bytesToBlockEnd() {
        long blockEnd = WalMath.alignUp(position + 1, p.blockSize());
        return blockEnd - position;
    }

    private boolean allZero(int from, int len) {
        for (int i = from; i < from + len; i++) {
            if (buf.get(i) != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Makes logical bytes [pos, pos + len) available in the buffer and returns the buffer index of
     * {@code pos}. Reads whole blocks, never across the physical end of the ring (the next lap's
     * bytes are read from the ring's start).
     */
    private int ensure(long pos, int len) throws IOException {
        if (pos >= bufPos && pos + len <= bufPos + bufLen) {
            return (int) (pos - bufPos);
        }
        long keepFrom = WalMath.alignDown(pos, p.blockSize());
        if (keepFrom >= bufPos && keepFrom <= bufPos + bufLen) {
            int shift = (int) (keepFrom - bufPos);
            ByteBuffer d = buf.duplicate();
            d.limit(bufLen).position(shift);
            d.compact();
            bufLen -= shift;
        } else {
            bufLen = 0;
        }
        bufPos = keepFrom;
        while (pos + len > bufPos + bufLen) {
            long readPos = bufPos + bufLen;
            long lapEnd = (readPos / p.capacity() + 1) * p.capacity();
            int n = (int) Math.min(buf.capacity() - bufLen, lapEnd - readPos);
            n = (int) Math.min(n, Math.max(hardLimit - readPos, p.blockSize()));
            n = (int) WalMath.alignDown(n, p.blockSize());
            if (n <= 0) {
                throw new IllegalStateException("scan buffer too small: capacity=" + buf.capacity() + " needed="
                        + (pos + len - bufPos));
            }
            ByteBuffer dst = buf.duplicate();
            dst.limit(bufLen + n).position(bufLen);
            file.read(p.dataOffset() + readPos % p.capacity(), dst);
            bufLen += n;
        }
        return (int) (pos - bufPos);
    }
}
