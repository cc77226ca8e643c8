package dev.strata.wal.objectstore;

import dev.strata.api.CorruptDataException;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Layout of one object of the object-store WAL: a fixed 80-byte header, then the body, a sequence
 * of framed records. All integers big-endian.
 *
 * <pre>
 *  offset  size  field
 *   0       4    magic            0x53574F31 ("SWO1")
 *   4       2    formatVersion    1
 *   6       2    flags            bit 0: fence object (written by an opener, carries no records)
 *   8       8    nodeEpoch        epoch of the writer; every opener takes one above all it saw
 *  16       8    writerId         random per opened WAL: tells two writers of one epoch apart
 *  24       8    sequence         the object's sequence number (also in its key)
 *  32       8    basePosition     log position of the body's first byte
 *  40       8    trimSequence     lowest sequence still needed when this object was sealed
 *  48       8    trimPosition     lowest log position still needed (records below are skipped)
 *  56       4    recordCount      records in the body
 *  60       4    bodyLength       bytes of the body
 *  64       4    bodyCrc          CRC32C of the body
 *  68       8    reserved         zero
 *  76       4    headerCrc        CRC32C of bytes [0, 76): covers the header, and through bodyCrc the body
 *  80            body: recordCount times { length u32 | crc u32 (CRC32C of the record body) | body }
 * </pre>
 *
 * <p>Version: a reader accepts only {@link #FORMAT_VERSION}; an object of another version fails
 * recovery with {@link CorruptDataException} naming the version (it was written by newer code).
 *
 * <p>The header has its own CRC so that recovery can find the log's chain by reading only the
 * first {@link #HEADER_BYTES} of each object; the body is checked when the records are read.
 * A record's log bytes are its frame ({@link #RECORD_FRAME_BYTES}) plus its body, so the next
 * record's position is {@code position + RECORD_FRAME_BYTES + length}, and an object's body ends
 * exactly where the next object's {@code basePosition} starts.
 */
final class WalObjectDescriptor {

    /** "SWO1": Strata WAL Object. */
    static final int MAGIC = 0x53574F31;
    static final int FORMAT_VERSION = 1;
    /** The object was written by an opener to fence older writers; it has no records. */
    static final int FLAG_FENCE = 1;
    static final int KNOWN_FLAGS = FLAG_FENCE;

    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = MAGIC_OFFSET + Integer.BYTES;
    static final int FLAGS_OFFSET = VERSION_OFFSET + Short.BYTES;
    static final int EPOCH_OFFSET = FLAGS_OFFSET + Short.BYTES;
    static final int WRITER_ID_OFFSET = EPOCH_OFFSET + Long.BYTES;
    static final int SEQUENCE_OFFSET = WRITER_ID_OFFSET + Long.BYTES;
    static final int BASE_POSITION_OFFSET = SEQUENCE_OFFSET + Long.BYTES;
    static final int TRIM_SEQUENCE_OFFSET = BASE_POSITION_OFFSET + Long.BYTES;
    static final int TRIM_POSITION_OFFSET = TRIM_SEQUENCE_OFFSET + Long.BYTES;
    static final int RECORD_COUNT_OFFSET = TRIM_POSITION_OFFSET + Long.BYTES;
    static final int BODY_LENGTH_OFFSET = RECORD_COUNT_OFFSET + Integer.BYTES;
    static final int BODY_CRC_OFFSET = BODY_LENGTH_OFFSET + Integer.BYTES;
    static final int RESERVED_OFFSET = BODY_CRC_OFFSET + Integer.BYTES;
    static final int HEADER_CRC_OFFSET = RESERVED_OFFSET + Long.BYTES;
    /** Bytes of the header; the body starts here. */
    static final int HEADER_BYTES = HEADER_CRC_OFFSET + Integer.BYTES;

    /** Record frame: length (u32) then CRC32C of the record body (u32). */
    static final int RECORD_LENGTH_OFFSET = 0;
    static final int RECORD_CRC_OFFSET = RECORD_LENGTH_OFFSET + Integer.BYTES;
    static final int RECORD_FRAME_BYTES = RECORD_CRC_OFFSET + Integer.BYTES;

    private WalObjectDescriptor() {
    }

    /** Writes {@code h} as the header at {@code buf}'s index 0, computing the header CRC. */
    static void writeHeader(ByteBuf buf, WalObjectHeader h) {
        buf.setInt(MAGIC_OFFSET, MAGIC);
        buf.setShort(VERSION_OFFSET, FORMAT_VERSION);
        buf.setShort(FLAGS_OFFSET, h.fence() ? FLAG_FENCE : 0);
        buf.setLong(EPOCH_OFFSET, h.nodeEpoch());
        buf.setLong(WRITER_ID_OFFSET, h.writerId());
        buf.setLong(SEQUENCE_OFFSET, h.sequence());
        buf.setLong(BASE_POSITION_OFFSET, h.basePosition());
        buf.setLong(TRIM_SEQUENCE_OFFSET, h.trimSequence());
        buf.setLong(TRIM_POSITION_OFFSET, h.trimPosition());
        buf.setInt(RECORD_COUNT_OFFSET, h.recordCount());
        buf.setInt(BODY_LENGTH_OFFSET, h.bodyLength());
        buf.setInt(BODY_CRC_OFFSET, h.bodyCrc());
        buf.setLong(RESERVED_OFFSET, 0L);
        buf.setInt(HEADER_CRC_OFFSET, crc(buf, 0, HEADER_CRC_OFFSET));
    }

    /**
     * Decodes and checks the header at {@code buf}'s reader index.
     *
     * @param key the object's key, for messages
     * @throws CorruptDataException if the bytes are short, the magic, version, flags or header CRC
     *     are wrong, or the fields contradict each other
     */
    static WalObjectHeader readHeader(ByteBuf buf, String key) {
        int at = buf.readerIndex();
        if (buf.readableBytes() < HEADER_BYTES) {
            throw new CorruptDataException("WAL object shorter than its header: key=" + key + " bytes="
                    + buf.readableBytes() + " headerBytes=" + HEADER_BYTES);
        }
        int magic = buf.getInt(at + MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new CorruptDataException("WAL object magic mismatch: key=" + key + " stored=0x"
                    + Integer.toHexString(magic) + " expected=0x" + Integer.toHexString(MAGIC));
        }
        int storedCrc = buf.getInt(at + HEADER_CRC_OFFSET);
        int computed = crc(buf, at, HEADER_CRC_OFFSET);
        if (storedCrc != computed) {
            throw new CorruptDataException("WAL object header CRC mismatch: key=" + key + " stored=0x"
                    + Integer.toHexString(storedCrc) + " computed=0x" + Integer.toHexString(computed));
        }
        int version = buf.getUnsignedShort(at + VERSION_OFFSET);
        if (version != FORMAT_VERSION) {
            throw new CorruptDataException("WAL object format version not supported: key=" + key + " version="
                    + version + " supported=" + FORMAT_VERSION);
        }
        int flags = buf.getUnsignedShort(at + FLAGS_OFFSET);
        if ((flags & ~KNOWN_FLAGS) != 0) {
            throw new CorruptDataException("WAL object has unknown flags: key=" + key + " flags=0x"
                    + Integer.toHexString(flags));
        }
        WalObjectHeader h = new WalObjectHeader((flags & FLAG_FENCE) != 0, buf.getLong(at + EPOCH_OFFSET),
                buf.getLong(at + WRITER_ID_OFFSET), buf.getLong(at + SEQUENCE_OFFSET),
                buf.getLong(at + BASE_POSITION_OFFSET), buf.getLong(at + TRIM_SEQUENCE_OFFSET),
                buf.getLong(at + TRIM_POSITION_OFFSET), buf.getInt(at + RECORD_COUNT_OFFSET),
                buf.getInt(at + BODY_LENGTH_OFFSET), buf.getInt(at + BODY_CRC_OFFSET));
        checkHeader(h, key);
        return h;
    }

    /** Field rules a CRC cannot catch (a writer bug): names the first field that breaks one. */
    static void checkHeader(WalObjectHeader h, String key) {
        String bad = null;
        if (h.sequence() < 0 || h.basePosition() < 0 || h.trimPosition() < 0 || h.trimSequence() < 0) {
            bad = "negative sequence or position";
        } else if (h.recordCount() < 0 || h.bodyLength() < 0
                || (long) h.recordCount() * RECORD_FRAME_BYTES > h.bodyLength()) {
            bad = "recordCount and bodyLength disagree";
        } else if (h.trimSequence() > h.sequence() + 1 || h.trimPosition() > h.basePosition()) {
            bad = "trim point after the object";
        } else if (h.fence() && h.recordCount() != 0) {
            bad = "fence object with records";
        }
        if (bad != null) {
            throw new CorruptDataException("WAL object header invalid: key=" + key + " reason=" + bad + " header=" + h);
        }
    }

    /** CRC32C of {@code length} bytes of {@code buf} from {@code index}, without moving its indexes. */
    static int crc(ByteBuf buf, int index, int length) {
        CRC32C crc = new CRC32C();
        if (length == 0) {
            return (int) crc.getValue();
        }
        for (ByteBuffer b : buf.nioBuffers(index, length)) {
            crc.update(b);
        }
        return (int) crc.getValue();
    }
}
