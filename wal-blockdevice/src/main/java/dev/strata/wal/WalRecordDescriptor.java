package dev.strata.wal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * Layout of one record in the WAL data area (format version 2, see {@link WalHeaderDescriptor#VERSION}),
 * and the rules that let recovery find the end and tell lost acknowledged data from a torn tail.
 *
 * <pre>
 *  0        4        8                 16                24                 32       36       40       44
 *  +--------+--------+-----------------+-----------------+------------------+--------+--------+--------+-----------
 *  | magic  | flags  | position (i64)  | generation (i64)| durableMark (i64)| length | bodyCrc| hdrCrc | body (length)
 *  +--------+--------+-----------------+-----------------+------------------+--------+--------+--------+-----------
 * </pre>
 *
 * <ul>
 *   <li>Byte order: little-endian. {@code magic} = {@link #MAGIC} ("SWL2"; version 1 used "SWLR"
 *       and had no {@code durableMark}: a version-1 WAL is refused at its header, see
 *       {@link WalHeaderDescriptor}).</li>
 *   <li>{@code flags}: bit 0 {@link #FLAG_LAST_IN_WRITE}, bit 1 {@link #FLAG_PADDING}; other bits
 *       must be zero (a record with unknown flags is treated as invalid).</li>
 *   <li>{@code position}: the logical position of the record's first byte. Recovery compares it
 *       with where it read the record: a difference means stale bytes from an earlier lap of the
 *       ring.</li>
 *   <li>{@code generation}: how many times the WAL had been opened when the record was written.
 *       Used with the header's generation start to reject intact records left over from a
 *       generation whose tail was cut off by a crash (see {@link WalHeaderDescriptor}).</li>
 *   <li>{@code durableMark}: the end of the contiguous durable prefix of the log when the write
 *       holding this record was submitted (every record of one write carries the same value).
 *       Everything below it had been made durable, and acknowledged, before this record was written.
 *       It is what lets recovery tell the two kinds of holes apart (the <b>recovery rule</b> below).</li>
 *   <li>{@code length}: body bytes. {@code bodyCrc}: CRC32C of the body ({@code 0} and unchecked for
 *       padding records, whose body is never written). {@code hdrCrc}: CRC32C of bytes [0, 40),
 *       so a torn or zeroed header is never trusted, whatever its length or mark field says.</li>
 * </ul>
 *
 * <p><b>Chain rule.</b> Records of one write are contiguous. The last record of a write carries
 * {@link #FLAG_LAST_IN_WRITE}; the write is then zero-padded to the block size, and the next record
 * starts at the next block boundary. A padding record ({@link #FLAG_PADDING}) is always last in its
 * write and covers the space up to the physical end of the ring, where the next lap starts (records
 * never wrap the physical end). So every record determines exactly where the next one starts,
 * {@link #nextPosition}; recovery never guesses while the chain holds.
 *
 * <p><b>Recovery rule</b> (where the chain breaks at position {@code a}: zeros, a bad CRC, stale
 * data). The scan looks further ahead, in large reads, for intact records of the same lap and a
 * valid generation. If one of them carries a {@code durableMark >= c}, where {@code c} is the first
 * intact record after {@code a}, then {@code [a, c)} had been durable and acknowledged before
 * that record was written: the hole is damage inside the log (a lost write, media corruption).
 * After a clean close the header's {@code closedEnd} serves as such a mark for the whole log (see
 * {@link WalHeaderDescriptor}), and the scan looks no further than it. Only records of the proving
 * record's generation are resumed at: an older generation's record inside the hole may be a
 * leftover that a later generation had overwritten (so a proof from a later generation
 * conservatively counts the earlier generation's records after the hole as lost).
 * It is reported as lost acknowledged data, and the scan continues at {@code c}. Otherwise the
 * hole is a torn tail (a crash with several writes in flight, a later write landing before an
 * earlier one): the records after it were never acknowledged (the WAL acknowledges only the
 * contiguous durable prefix), so the scan ends at {@code a}. Damage with no later write to prove
 * it (in the last writes before a crash or close) cannot be told from a torn tail, and is reported
 * as one, unless the WAL was closed cleanly.
 */
final class WalRecordDescriptor {

    /** "SWL2" read as a little-endian int (format version 2). */
    static final int MAGIC = 0x324C5753;
    /** "SWLR": the record magic of format version 1, which had no {@code durableMark}. */
    static final int MAGIC_V1 = 0x524C5753;

    static final int FLAG_LAST_IN_WRITE = 1;
    static final int FLAG_PADDING = 1 << 1;
    static final int KNOWN_FLAGS = FLAG_LAST_IN_WRITE | FLAG_PADDING;

    static final int MAGIC_OFFSET = 0;
    static final int FLAGS_OFFSET = MAGIC_OFFSET + Integer.BYTES;
    static final int POSITION_OFFSET = FLAGS_OFFSET + Integer.BYTES;
    static final int GENERATION_OFFSET = POSITION_OFFSET + Long.BYTES;
    static final int DURABLE_MARK_OFFSET = GENERATION_OFFSET + Long.BYTES;
    static final int LENGTH_OFFSET = DURABLE_MARK_OFFSET + Long.BYTES;
    static final int BODY_CRC_OFFSET = LENGTH_OFFSET + Integer.BYTES;
    static final int HEADER_CRC_OFFSET = BODY_CRC_OFFSET + Integer.BYTES;
    /** Header bytes; the body follows directly. */
    static final int HEADER_BYTES = HEADER_CRC_OFFSET + Integer.BYTES;

    private WalRecordDescriptor() {
    }

    /** Writes a record header at {@code offset} of {@code buf} (absolute, buffer position untouched). */
    static void writeHeader(ByteBuffer buf, int offset, int flags, long position, long generation, long durableMark,
            int length, int bodyCrc) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(offset + MAGIC_OFFSET, MAGIC);
        b.putInt(offset + FLAGS_OFFSET, flags);
        b.putLong(offset + POSITION_OFFSET, position);
        b.putLong(offset + GENERATION_OFFSET, generation);
        b.putLong(offset + DURABLE_MARK_OFFSET, durableMark);
        b.putInt(offset + LENGTH_OFFSET, length);
        b.putInt(offset + BODY_CRC_OFFSET, bodyCrc);
        b.putInt(offset + HEADER_CRC_OFFSET, headerCrc(b, offset));
    }

    /** Adds {@code flag} to the header at {@code offset} and recomputes its CRC. */
    static void addFlag(ByteBuffer buf, int offset, int flag) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(offset + FLAGS_OFFSET, b.getInt(offset + FLAGS_OFFSET) | flag);
        b.putInt(offset + HEADER_CRC_OFFSET, headerCrc(b, offset));
    }

    /** Sets the durable mark of the header at {@code offset} and recomputes its CRC. */
    static void setDurableMark(ByteBuffer buf, int offset, long durableMark) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(offset + DURABLE_MARK_OFFSET, durableMark);
        b.putInt(offset + HEADER_CRC_OFFSET, headerCrc(b, offset));
    }

    /** CRC32C of header bytes [0, {@link #HEADER_CRC_OFFSET}) at {@code offset}. */
    static int headerCrc(ByteBuffer buf, int offset) {
        CRC32C crc = new CRC32C();
        crc.update(buf.duplicate().limit(offset + HEADER_CRC_OFFSET).position(offset));
        return (int) crc.getValue();
    }

    /** Bytes a record with a body of {@code length} bytes occupies, before any block padding. */
    static long encodedLength(long length) {
        return HEADER_BYTES + length;
    }

    /**
     * Where the record after this one starts: right after it, or, if it ends its write, at the
     * next block boundary.
     */
    static long nextPosition(long position, int flags, int length, int blockSize) {
        long end = position + encodedLength(length);
        return (flags & (FLAG_LAST_IN_WRITE | FLAG_PADDING)) != 0 ? WalMath.alignUp(end, blockSize) : end;
    }
}
