package dev.strata.objectstore.format;

import dev.strata.api.CorruptDataException;
import dev.strata.api.UnsupportedFormatVersionException;
import io.netty.buffer.ByteBuf;

/**
 * Layout of the fixed-size footer that ends every object and locates its index.
 *
 * <pre>
 *  0                8        12       16       20    22    24       28       32
 *  +----------------+--------+--------+--------+-----+-----+--------+--------+
 *  | indexPosition  | idxLen | idxCrc | entries| ver | flg | crc    | magic  |
 *  +----------------+--------+--------+--------+-----+-----+--------+--------+
 *  indexPosition i64  first byte of the index = end of the last data block
 *  idxLen        i32  index length in bytes = entries * ObjectIndexDescriptor.ENTRY_SIZE
 *  idxCrc        i32  CRC32C of the index bytes
 *  entries       i32  number of index entries (data blocks)
 *  ver           i16  format version, 1; a reader rejects versions it does not know
 *  flg           i16  0 (reserved)
 *  crc           i32  CRC32C of footer bytes [0, 24)
 *  magic         i32  0x5354524F ("STRO"), last so that a tail read recognises an object at once
 * </pre>
 * Big-endian. Also checked: indexPosition + idxLen + 32 = object size. An object is thus
 * self-describing: footer, index and blocks can be verified, and its stream ranges rebuilt, from
 * the object alone.
 */
public final class ObjectFooterDescriptor {

    /** "STRO". */
    public static final int MAGIC = 0x5354524F;
    /** The only object format version this code reads and writes. */
    public static final short VERSION_1 = 1;

    /** Offset of the index position. */
    public static final int INDEX_POSITION_OFFSET = 0;
    /** Offset of the index length. */
    public static final int INDEX_LENGTH_OFFSET = INDEX_POSITION_OFFSET + Long.BYTES;
    /** Offset of the index CRC. */
    public static final int INDEX_CRC_OFFSET = INDEX_LENGTH_OFFSET + Integer.BYTES;
    /** Offset of the entry count. */
    public static final int ENTRY_COUNT_OFFSET = INDEX_CRC_OFFSET + Integer.BYTES;
    /** Offset of the format version. */
    public static final int VERSION_OFFSET = ENTRY_COUNT_OFFSET + Integer.BYTES;
    /** Offset of the flags. */
    public static final int FLAGS_OFFSET = VERSION_OFFSET + Short.BYTES;
    /** Offset of the footer CRC. */
    public static final int CRC_OFFSET = FLAGS_OFFSET + Short.BYTES;
    /** Offset of the magic. */
    public static final int MAGIC_OFFSET = CRC_OFFSET + Integer.BYTES;
    /** Size of the footer. */
    public static final int FOOTER_SIZE = MAGIC_OFFSET + Integer.BYTES;

    private ObjectFooterDescriptor() {
    }

    /** Writes a footer at {@code out}'s writer index. */
    static void write(ByteBuf out, long indexPosition, int indexLength, int indexCrc, int entryCount) {
        int start = out.writerIndex();
        out.writeLong(indexPosition);
        out.writeInt(indexLength);
        out.writeInt(indexCrc);
        out.writeInt(entryCount);
        out.writeShort(VERSION_1);
        out.writeShort(0);
        out.writeInt(Crc32c.compute(out, start, CRC_OFFSET));
        out.writeInt(MAGIC);
    }

    /**
     * Reads and checks the footer at absolute {@code index} of {@code buf}, for an object of
     * {@code objectSize} bytes.
     *
     * @throws CorruptDataException naming the key, position and bad value
     */
    static ObjectFooter read(ByteBuf buf, int index, long objectSize, String key) {
        long position = objectSize - FOOTER_SIZE;
        int magic = buf.getInt(index + MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new CorruptDataException("object footer has bad magic: object=" + key + " position=" + position
                    + " magic=" + Integer.toHexString(magic));
        }
        int stored = buf.getInt(index + CRC_OFFSET);
        int computed = Crc32c.compute(buf, index, CRC_OFFSET);
        if (stored != computed) {
            throw new CorruptDataException("object footer CRC mismatch: object=" + key + " position=" + position
                    + " stored=" + Integer.toHexString(stored) + " computed=" + Integer.toHexString(computed));
        }
        short version = buf.getShort(index + VERSION_OFFSET);
        if (version != VERSION_1) {
            throw new UnsupportedFormatVersionException("object", "object=" + key + " position=" + position, version,
                    String.valueOf(VERSION_1));
        }
        if (buf.getShort(index + FLAGS_OFFSET) != 0) {
            throw new CorruptDataException("object footer has unknown flags: object=" + key + " position=" + position
                    + " version=" + version + " flags=" + buf.getShort(index + FLAGS_OFFSET));
        }
        long indexPosition = buf.getLong(index + INDEX_POSITION_OFFSET);
        int indexLength = buf.getInt(index + INDEX_LENGTH_OFFSET);
        int entries = buf.getInt(index + ENTRY_COUNT_OFFSET);
        if (entries < 0 || indexLength != (long) entries * ObjectIndexDescriptor.ENTRY_SIZE
                || indexPosition < 0 || indexPosition + indexLength + FOOTER_SIZE != objectSize) {
            throw new CorruptDataException("object footer locates the index out of bounds: object=" + key
                    + " position=" + position + " indexPosition=" + indexPosition + " indexLength=" + indexLength
                    + " entries=" + entries + " objectSize=" + objectSize);
        }
        return new ObjectFooter(indexPosition, indexLength, buf.getInt(index + INDEX_CRC_OFFSET), entries, version);
    }
}
