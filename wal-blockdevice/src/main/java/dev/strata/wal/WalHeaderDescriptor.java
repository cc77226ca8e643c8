package dev.strata.wal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * Layout of a WAL header slot. The device starts with two slots of one block each (slot {@code i}
 * at byte {@code i * blockSize}); the data ring follows at {@code 2 * blockSize}.
 *
 * <pre>
 *  0        4        8        12       16               24               32
 *  +--------+--------+--------+--------+----------------+----------------+
 *  | magic  | version| blkSize| zero   | capacity (i64) | sequence (i64) |
 *  +--------+--------+--------+--------+----------------+----------------+
 *  32               40               48                56               64               72       76
 *  +----------------+----------------+-----------------+----------------+----------------+--------+
 *  | trimPos (i64)  | generation     | generationStart | nodeEpoch      | closedEnd (i64)| crc    |
 *  +----------------+----------------+-----------------+----------------+----------------+--------+
 * </pre>
 *
 * <ul>
 *   <li>Little-endian; the rest of the slot's block is zero. {@code magic} = {@link #MAGIC} ("SWLH").</li>
 *   <li>{@code version}: {@link #VERSION}, the version of the whole device format (header slots
 *       and records). A reader never reinterprets another version: a slot with a valid CRC and
 *       another version decodes as {@link Unsupported}, and opening such a WAL fails with
 *       {@link UnsupportedWalFormatException}. Version 1 records had no {@code durableMark} (see
 *       {@link WalRecordDescriptor}); a version-1 WAL must be drained (closed cleanly by the
 *       release that wrote it, so that the engine uploads its data) or deleted before upgrading.</li>
 *   <li>{@code sequence}: incremented by one on every header write (a counter, never a clock).
 *       Header {@code n} is written to slot {@code n % 2}, so a torn header write can destroy only
 *       the older copy. At open, the valid slot with the higher sequence wins.</li>
 *   <li>{@code trimPos}: logical position where recovery starts; data below it may be overwritten.
 *       The WAL reuses space only after the header carrying the new trim is durable.</li>
 *   <li>{@code generation}, {@code generationStart}: every open increments the generation and
 *       records where that generation's first record goes (the end of what recovery found). A
 *       record at a position {@code >= generationStart} must carry exactly this generation, one
 *       below it an older generation: an intact record of an older generation found beyond the
 *       start of a newer one is a leftover that an earlier recovery had already cut off (it lay
 *       after a torn write), and must never be replayed.</li>
 *   <li>{@code nodeEpoch}: opaque to the WAL; the engine stores its node epoch here.</li>
 *   <li>{@code closedEnd}: {@code -1} while the generation is open (the header written at open and
 *       every trim header). A clean close (every write completed, the WAL not failed) writes one
 *       more header with the end of the log here: everything below it was durable and
 *       acknowledged, and nothing of this generation lies beyond it. Recovery then needs no
 *       look-ahead past it, and a hole below it is lost acknowledged data even with no later
 *       record to prove it (see {@link WalRecordDescriptor}). After a crash it is {@code -1} and
 *       recovery looks ahead over the rest of the ring.</li>
 *   <li>{@code crc}: CRC32C of bytes [0, 72).</li>
 * </ul>
 */
final class WalHeaderDescriptor {

    /** "SWLH" read as a little-endian int. */
    static final int MAGIC = 0x484C5753;
    /** Version 2: records carry a durable mark, the header a clean-close end (version 1: neither). */
    static final int VERSION = 2;
    static final int SLOTS = 2;

    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = MAGIC_OFFSET + Integer.BYTES;
    static final int BLOCK_SIZE_OFFSET = VERSION_OFFSET + Integer.BYTES;
    static final int RESERVED_OFFSET = BLOCK_SIZE_OFFSET + Integer.BYTES;
    static final int CAPACITY_OFFSET = RESERVED_OFFSET + Integer.BYTES;
    static final int SEQUENCE_OFFSET = CAPACITY_OFFSET + Long.BYTES;
    static final int TRIM_POSITION_OFFSET = SEQUENCE_OFFSET + Long.BYTES;
    static final int GENERATION_OFFSET = TRIM_POSITION_OFFSET + Long.BYTES;
    static final int GENERATION_START_OFFSET = GENERATION_OFFSET + Long.BYTES;
    static final int NODE_EPOCH_OFFSET = GENERATION_START_OFFSET + Long.BYTES;
    static final int CLOSED_END_OFFSET = NODE_EPOCH_OFFSET + Long.BYTES;
    static final int CRC_OFFSET = CLOSED_END_OFFSET + Long.BYTES;
    static final int HEADER_BYTES = CRC_OFFSET + Integer.BYTES;

    private WalHeaderDescriptor() {
    }

    /** Byte offset of slot {@code slot} on the device. */
    static long slotOffset(int slot, int blockSize) {
        return (long) slot * blockSize;
    }

    /** Byte offset of the data ring on the device. */
    static long dataOffset(int blockSize) {
        return (long) SLOTS * blockSize;
    }

    /** Encodes {@code h} into {@code buf} [0, blockSize): fields, then zeros. */
    static void encode(WalHeader h, ByteBuffer buf, int blockSize) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < blockSize; i += Long.BYTES) {
            b.putLong(i, 0L);
        }
        b.putInt(MAGIC_OFFSET, MAGIC);
        b.putInt(VERSION_OFFSET, VERSION);
        b.putInt(BLOCK_SIZE_OFFSET, h.blockSize());
        b.putLong(CAPACITY_OFFSET, h.capacity());
        b.putLong(SEQUENCE_OFFSET, h.sequence());
        b.putLong(TRIM_POSITION_OFFSET, h.trimPosition());
        b.putLong(GENERATION_OFFSET, h.generation());
        b.putLong(GENERATION_START_OFFSET, h.generationStart());
        b.putLong(NODE_EPOCH_OFFSET, h.nodeEpoch());
        b.putLong(CLOSED_END_OFFSET, h.closedEnd());
        b.putInt(CRC_OFFSET, crc(b));
    }

    /** Result of decoding one slot. */
    sealed interface Decoded permits Valid, Empty, Invalid, Unsupported {
    }

    record Valid(WalHeader header) implements Decoded {
    }

    /** The slot is all zeros in its header range: never written. */
    record Empty() implements Decoded {
    }

    record Invalid(String reason) implements Decoded {
    }

    /** An intact slot (magic and CRC match) of another format version: never reinterpreted. */
    record Unsupported(int version) implements Decoded {
    }

    /** Decodes the slot at {@code buf} [0, {@link #HEADER_BYTES}). */
    static Decoded decode(ByteBuffer buf) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        boolean allZero = true;
        for (int i = 0; i < HEADER_BYTES && allZero; i++) {
            allZero = b.get(i) == 0;
        }
        if (allZero) {
            return new Empty();
        }
        int magic = b.getInt(MAGIC_OFFSET);
        if (magic != MAGIC) {
            return new Invalid("bad magic: stored=0x" + Integer.toHexString(magic));
        }
        int stored = b.getInt(CRC_OFFSET);
        int computed = crc(b);
        if (stored != computed) {
            return new Invalid("CRC mismatch: stored=0x" + Integer.toHexString(stored) + " computed=0x"
                    + Integer.toHexString(computed));
        }
        int version = b.getInt(VERSION_OFFSET);
        if (version != VERSION) {
            return new Unsupported(version);
        }
        return new Valid(new WalHeader(b.getInt(BLOCK_SIZE_OFFSET), b.getLong(CAPACITY_OFFSET),
                b.getLong(SEQUENCE_OFFSET), b.getLong(TRIM_POSITION_OFFSET), b.getLong(GENERATION_OFFSET),
                b.getLong(GENERATION_START_OFFSET), b.getLong(NODE_EPOCH_OFFSET), b.getLong(CLOSED_END_OFFSET)));
    }

    private static int crc(ByteBuffer b) {
        CRC32C crc = new CRC32C();
        crc.update(b.duplicate().limit(CRC_OFFSET).position(0));
        return (int) crc.getValue();
    }
}
