package dev.strata.wal;

import static dev.strata.wal.WalRecordDescriptor.BODY_CRC_OFFSET;
import static dev.strata.wal.WalRecordDescriptor.DURABLE_MARK_OFFSET;
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

import dev.strata.wal.api.RecoveryReport.LostRegion;
import dev.strata.wal.api.RecoveryReport.StopReason;
import dev.strata.wal.api.RecoveryReport;
import dev.strata.wal.api.WalRecovery;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Walks the record chain of the data ring from a start position, and past holes that a later
 * record proves were durable, to the end of the log (see {@link WalRecordDescriptor} for the chain
 * and recovery rules and {@link WalHeaderDescriptor} for the generation rule). Reads in large
 * block-aligned chunks (not one read per record), so a scan runs near sequential read speed. Not
 * thread-safe; one scan per instance.
 *
 * <p>Where the chain breaks, the scan looks ahead: every block boundary up to a full ring past the
 * trim point is probed for an intact record header (the first record of every write starts at a
 * block boundary). After a crash, that costs one read of the rest of the ring at the end of the
 * first scan; after a clean close, the header says where the log ends ({@code closedEnd}), and
 * the scan looks no further.
 * If a probed record's durable mark proves that the hole had been durable, the first intact
 * record after the hole (searched byte by byte, as records inside a write are not aligned) is
 * where the scan resumes, and the hole is reported as a lost region. A rescan with a known end
 * (a later {@link WalRecovery}) skips exactly the lost regions the first scan found, without
 * looking ahead.
 */
final class RecordScanner {

    /** Bytes per read while scanning: large enough to reach sequential read bandwidth (I/O measurements §6c). */
    static final int READ_CHUNK_BYTES = 1 << 20;

    /** Scan parameters that come from the header. */
    record Params(int blockSize, long capacity, long dataOffset, long start, long headerGeneration,
            long generationStart, long closedEnd) {
    }

    private final WalFile file;
    private final Params p;
    private final long hardLimit;
    private final long endLimit;
    private final List<LostRegion> knownLost;
    /** Read buffer: one read chunk plus the largest record met so far (grows for a larger one). */
    private ByteBuffer buf;
    private ByteBuffer le;
    private long bufPos;
    private int bufLen;

    private long position;
    private long prevGeneration = Long.MIN_VALUE;
    private long records;
    private long bodyBytes;
    private long tornBytes;
    private StopReason stopReason;
    private String detail = "";
    private final List<LostRegion> lost = new ArrayList<>();

    // the current record (valid after next() returned true)
    private long recPosition;
    private long recNext;
    private int recBodyOffset;
    private int recLength;

    // the header last accepted by inspect()
    private int hFlags;
    private int hLength;
    private long hGeneration;
    private long hMark;
    private long hNext;
    private int hBodyOffset;
    // why inspect() last refused a header
    private StopReason fReason;
    private long fTorn;
    private String fDetail;

    /**
     * @param maxRecordBytes largest body the WAL accepts; the buffer holds one whole record
     * @param end where to stop with {@link StopReason#END_OF_LOG} (a previous scan's end), or -1
     * @param knownLost with {@code end}: the lost regions the previous scan found (skipped again,
     *     with no look-ahead); null for the first scan
     */
    RecordScanner(WalFile file, Params params, int maxRecordBytes, long end, List<LostRegion> knownLost) {
        this.file = file;
        this.p = params;
        this.hardLimit = WalMath.alignDown(params.start(), params.blockSize()) + params.capacity();
        this.endLimit = end;
        this.knownLost = knownLost;
        this.buf = Buffers.allocateAligned(bufferBytes(params.blockSize(), maxRecordBytes), params.blockSize());
        this.le = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.position = params.start();
        this.bufPos = WalMath.alignDown(params.start(), params.blockSize());
        this.bufLen = 0;
    }

    /**
     * The largest body any record of this ring can have (a write never exceeds half the ring). The
     * read buffer is sized for the record size the WAL is opened with now, but a WAL opened earlier
     * with larger writes (a larger {@code maxBatchBytes}) holds larger records: the scan then grows
     * its buffer instead of taking such a record for damage. The header CRC is checked before the
     * length is trusted, so only a genuine record makes it grow.
     */
    private long maxBodyBytes() {
        return (p.capacity() - p.blockSize()) / 2 - 2L * HEADER_BYTES;
    }

    /** Replaces the read buffer with one holding {@code needed} bytes past its start, keeping what it holds. */
    private void grow(int needed) {
        ByteBuffer bigger = Buffers.allocateAligned(bufferBytes(p.blockSize(), needed), p.blockSize());
        ByteBuffer kept = buf.duplicate();
        kept.limit(bufLen).position(0);
        bigger.put(kept).clear();
        buf = bigger;
        le = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Size of a scanner's read buffer: one read chunk plus one whole record, in whole blocks. */
    static int bufferBytes(int blockSize, int maxRecordBytes) {
        return (int) WalMath.alignUp((long) READ_CHUNK_BYTES + maxRecordBytes + 2L * HEADER_BYTES + blockSize, blockSize);
    }

    /**
     * Advances to the next data record (skipping padding records and proven lost regions).
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
            if (!inspect(position, prevGeneration, true, true)) {
                resync();
                continue;
            }
            long next = hNext;
            if ((hFlags & FLAG_PADDING) != 0) {
                prevGeneration = hGeneration;
                position = next;
                continue;
            }
            recPosition = position;
            recNext = next;
            recBodyOffset = hBodyOffset;
            recLength = hLength;
            records++;
            bodyBytes += hLength;
            prevGeneration = hGeneration;
            position = next;
            return true;
        }
        return false;
    }

    /**
     * The chain broke at {@link #position} ({@code f*} fields say why). Either continues after a
     * proven lost region (position moves on) or stops the scan. See the recovery rule in
     * {@link WalRecordDescriptor}.
     */
    private void resync() throws IOException {
        long a = position;
        StopReason reason = fReason;
        long torn = fTorn;
        String why = fDetail;
        if (knownLost != null) {
            for (LostRegion r : knownLost) {
                if (r.position() == a && r.endPosition() <= endLimit) {
                    lost.add(r);
                    position = r.endPosition();
                    return;
                }
            }
            stop(reason, torn, why);
            return;
        }
        if (p.headerGeneration() == 0) {
            stop(reason, torn, why); // a new WAL: nothing was ever written, nothing to look for
            return;
        }
        // after a clean close the log ends at closedEnd, and everything below it was acknowledged
        long closedEnd = p.closedEnd();
        long probeLimit = closedEnd >= 0 ? Math.min(closedEnd, hardLimit) : hardLimit;
        long minGeneration = prevGeneration;
        long firstIntact = -1;
        long maxMark = closedEnd;
        long resumeGeneration = Long.MIN_VALUE;
        long resume = -1;
        for (long b = WalMath.alignDown(a, p.blockSize()) + p.blockSize(); b < probeLimit
                && b + HEADER_BYTES <= hardLimit; b += p.blockSize()) {
            if (!inspect(b, minGeneration, false, false)) {
                continue;
            }
            if (firstIntact < 0) {
                firstIntact = b;
            }
            long mark = Math.max(hMark, closedEnd);
            long generation = hGeneration;
            maxMark = Math.max(maxMark, mark);
            if (mark <= a) {
                continue; // written while the hole was not yet durable: proves nothing
            }
            if (generation != resumeGeneration) {
                // resume only at a record of the proving record's generation: an older generation's
                // record inside the hole may be a leftover that this generation had overwritten
                resume = findResume(a, b, generation, minGeneration);
                resumeGeneration = generation;
            }
            if (mark >= resume) {
                lost.add(new LostRegion(a, resume, reason, why + "; bytes=" + (resume - a) + " proven durable by "
                        + provenBy(b, mark, closedEnd)));
                position = resume;
                return;
            }
        }
        if (closedEnd > a) {
            // no later write proves the hole, but the clean close does: resume at the first intact record
            // of the last generation after it (inside the last write, so not at a block boundary)
            long r = findResume(a, closedEnd, p.headerGeneration(), minGeneration);
            if (r < closedEnd && r >= p.generationStart()) {
                lost.add(new LostRegion(a, r, reason, why + "; bytes=" + (r - a) + " proven durable by the clean "
                        + "close at closedEnd=" + closedEnd));
                position = r;
                return;
            }
        }
        if (maxMark > a) {
            lost.add(new LostRegion(a, maxMark, reason, why + "; bytes [" + a + ", " + maxMark + ") proven durable by "
                    + (maxMark == closedEnd ? "the clean close at closedEnd=" + closedEnd : "a later durableMark")
                    + ", no intact record after them: the scan ends at position=" + a));
        }
        if (firstIntact >= 0) {
            torn = Math.max(torn, firstIntact - a);
            if (reason == StopReason.END_OF_LOG) {
                reason = StopReason.UNFINISHED_WRITE;
            }
            why += "; intact records follow from position=" + firstIntact + " but none proves the hole durable "
                    + "(maxDurableMark=" + (maxMark < 0 ? "none" : Long.toString(maxMark))
                    + "): a torn tail, never acknowledged";
        }
        stop(reason, torn, why);
    }

    private static String provenBy(long b, long mark, long closedEnd) {
        return mark == closedEnd ? "the clean close at closedEnd=" + closedEnd
                : "the record at position=" + b + " durableMark=" + mark;
    }

    /**
     * The first intact record (header and body) of {@code generation} in {@code (a, limit]},
     * searched byte by byte; {@code limit} (an intact header) if none is found before it.
     */
    private long findResume(long a, long limit, long generation, long minGeneration) throws IOException {
        for (long pos = a + 1; pos < limit; pos++) {
            int i = ensure(pos, Integer.BYTES);
            if (le.getInt(i + MAGIC_OFFSET) == MAGIC && pos + HEADER_BYTES <= hardLimit
                    && inspect(pos, minGeneration, true, false) && hGeneration == generation) {
                return pos;
            }
        }
        return limit;
    }

    /**
     * Checks the record at {@code pos}: magic, header CRC, stamped position, generation (at least
     * {@code minGeneration}), flags and length, and with {@code checkBody} the body CRC. On success
     * sets the {@code h*} fields; on failure the {@code f*} fields (the detail only if
     * {@code explain}).
     */
    private boolean inspect(long pos, long minGeneration, boolean checkBody, boolean explain) throws IOException {
        int h = ensure(pos, HEADER_BYTES);
        int magic = le.getInt(h + MAGIC_OFFSET);
        if (magic != MAGIC) {
            if (allZero(h, HEADER_BYTES)) {
                return fail(StopReason.END_OF_LOG, 0, explain ? "no record at position=" + pos : null);
            }
            return fail(StopReason.INVALID_HEADER, bytesToBlockEnd(pos), explain ? "bad magic at position=" + pos
                    + " stored=0x" + Integer.toHexString(magic) : null);
        }
        int storedHeaderCrc = le.getInt(h + HEADER_CRC_OFFSET);
        int computedHeaderCrc = WalRecordDescriptor.headerCrc(le, h);
        if (storedHeaderCrc != computedHeaderCrc) {
            return fail(StopReason.HEADER_CRC_MISMATCH, bytesToBlockEnd(pos), explain ? "record header CRC mismatch: "
                    + "position=" + pos + " stored=0x" + Integer.toHexString(storedHeaderCrc) + " computed=0x"
                    + Integer.toHexString(computedHeaderCrc) : null);
        }
        long stamped = le.getLong(h + POSITION_OFFSET);
        if (stamped != pos) {
            return fail(StopReason.POSITION_MISMATCH, 0, explain ? "record from another lap: position=" + pos
                    + " stamped=" + stamped : null);
        }
        long generation = le.getLong(h + GENERATION_OFFSET);
        if (!generationValid(pos, generation, minGeneration)) {
            return fail(StopReason.STALE_GENERATION, 0, explain ? "record of a cut-off generation: position=" + pos
                    + " generation=" + generation + " previous=" + minGeneration + " headerGeneration="
                    + p.headerGeneration() + " generationStart=" + p.generationStart() : null);
        }
        int flags = le.getInt(h + FLAGS_OFFSET);
        int length = le.getInt(h + LENGTH_OFFSET);
        long lapEnd = (pos / p.capacity() + 1) * p.capacity();
        long end = pos + HEADER_BYTES + (long) length;
        boolean padding = (flags & FLAG_PADDING) != 0;
        if ((flags & ~KNOWN_FLAGS) != 0 || length < 0 || end > lapEnd || (padding && end != lapEnd)
                || end > hardLimit || (!padding && length > maxBodyBytes())) {
            return fail(StopReason.INVALID_HEADER, bytesToBlockEnd(pos), explain ? "impossible record header: "
                    + "position=" + pos + " flags=" + flags + " length=" + length + " lapEnd=" + lapEnd : null);
        }
        long mark = le.getLong(h + DURABLE_MARK_OFFSET);
        if (!padding && checkBody) {
            int r = ensure(pos, HEADER_BYTES + length);
            int storedBodyCrc = le.getInt(r + BODY_CRC_OFFSET);
            CRC32C crc = new CRC32C();
            crc.update(buf.duplicate().limit(r + HEADER_BYTES + length).position(r + HEADER_BYTES));
            int computedBodyCrc = (int) crc.getValue();
            if (storedBodyCrc != computedBodyCrc) {
                return fail(StopReason.BODY_CRC_MISMATCH, HEADER_BYTES + (long) length, explain ? "record body CRC "
                        + "mismatch: position=" + pos + " length=" + length + " stored=0x"
                        + Integer.toHexString(storedBodyCrc) + " computed=0x" + Integer.toHexString(computedBodyCrc)
                        : null);
            }
            hBodyOffset = r + HEADER_BYTES;
        }
        hFlags = flags;
        hLength = length;
        hGeneration = generation;
        hMark = mark;
        hNext = WalRecordDescriptor.nextPosition(pos, flags, length, p.blockSize());
        return true;
    }

    private boolean fail(StopReason reason, long torn, String why) {
        fReason = reason;
        fTorn = torn;
        fDetail = why;
        return false;
    }

    /**
     * The generation rule: at or past the current generation's start only that generation; before
     * it only older ones; and never decreasing along the chain.
     */
    private boolean generationValid(long pos, long generation, long minGeneration) {
        boolean inCurrent = pos >= p.generationStart();
        boolean matches = inCurrent ? generation == p.headerGeneration() : generation < p.headerGeneration();
        return matches && generation >= minGeneration;
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

    /** Lost regions found (or, on a rescan, skipped) so far. */
    List<LostRegion> lostRegions() {
        return lost;
    }

    RecoveryReport report(long nodeEpoch) {
        String full = detail;
        if (!lost.isEmpty()) {
            StringBuilder sb = new StringBuilder("acknowledged data lost: regions=").append(lost.size())
                    .append(" bytes=").append(lost.stream().mapToLong(LostRegion::bytes).sum());
            for (LostRegion r : lost) {
                sb.append(" [").append(r.position()).append(", ").append(r.endPosition()).append(") found=")
                        .append(r.found()).append(" (").append(r.detail()).append(')');
            }
            full = sb.append("; scan ended: ").append(stopReason).append(' ').append(detail).toString();
        }
        return new RecoveryReport(p.start(), position, records, bodyBytes, tornBytes,
                lost.isEmpty() ? stopReason : StopReason.ACKNOWLEDGED_DATA_LOST, stopReason, full, nodeEpoch, lost);
    }

    private void stop(StopReason reason, long torn, String why) {
        stopReason = reason;
        tornBytes = torn;
        detail = why;
    }

    private long bytesToBlockEnd(long pos) {
        long blockEnd = WalMath.alignUp(pos + 1, p.blockSize());
        return blockEnd - pos;
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
        if (pos + len - bufPos > buf.capacity() - p.blockSize()) {
            grow((int) (pos + len - bufPos));
        }
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
