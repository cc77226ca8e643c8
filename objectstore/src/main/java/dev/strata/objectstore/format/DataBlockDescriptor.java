package dev.strata.objectstore.format;

import dev.strata.api.CorruptDataException;
import io.netty.buffer.ByteBuf;

/**
 * Layout of a data block: a header, then the block's stored bytes, which are consecutive
 * {@link StreamBatchDescriptor stream batches} of one stream, compressed as a unit by the codec.
 *
 * <pre>
 *  0        4  5  6     8        12       16       20       24
 *  +--------+--+--+-----+--------+--------+--------+--------+------------------------
 *  | magic  |cd|fl| rsv | rawLen | stored | records| crc    | stored bytes (stored)
 *  +--------+--+--+-----+--------+--------+--------+--------+------------------------
 *  magic   i32  0x53424C4B ("SBLK"): catches an index entry that points at the wrong place
 *  cd      i8   codec id ({@link CompressionCodec}: 0 none, 1 LZ4, 2 Zstd)
 *  fl      i8   flags, 0 (reserved)
 *  rsv     i16  0
 *  rawLen  i32  length of the batches after decompression
 *  stored  i32  length of the stored bytes after the header
 *  records i32  sum of the batches' record counts
 *  crc     i32  CRC32C of header bytes [0, 20) followed by the stored bytes
 * </pre>
 * Big-endian. The CRC covers the stored (compressed) bytes, so corruption is caught before the
 * decompressor sees it, and covers the header so a damaged length or codec is caught too. Batches
 * keep their own CRCs inside; a block decode relies on the block CRC and does not re-check them.
 * The writer starts a new block when the stream changes, the offsets are not contiguous, or the
 * raw size reaches the target; a block with no compression gain is stored with codec 0.
 */
public final class DataBlockDescriptor {

    /** "SBLK". */
    public static final int MAGIC = 0x53424C4B;
    /** Offset of the magic. */
    public static final int MAGIC_OFFSET = 0;
    /** Offset of the codec id. */
    public static final int CODEC_OFFSET = MAGIC_OFFSET + Integer.BYTES;
    /** Offset of the flags. */
    public static final int FLAGS_OFFSET = CODEC_OFFSET + Byte.BYTES;
    /** Offset of the reserved 16 bits. */
    public static final int RESERVED_OFFSET = FLAGS_OFFSET + Byte.BYTES;
    /** Offset of the raw length. */
    public static final int RAW_LENGTH_OFFSET = RESERVED_OFFSET + Short.BYTES;
    /** Offset of the stored length. */
    public static final int STORED_LENGTH_OFFSET = RAW_LENGTH_OFFSET + Integer.BYTES;
    /** Offset of the record count. */
    public static final int RECORD_COUNT_OFFSET = STORED_LENGTH_OFFSET + Integer.BYTES;
    /** Offset of the CRC32C. */
    public static final int CRC_OFFSET = RECORD_COUNT_OFFSET + Integer.BYTES;
    /** Size of the header. */
    public static final int HEADER_SIZE = CRC_OFFSET + Integer.BYTES;

    private DataBlockDescriptor() {
    }

    /**
     * Checks the block header at absolute {@code index} of {@code buf}, which must hold exactly
     * {@code length} bytes of block; returns the codec. Does not check the CRC.
     *
     * @throws CorruptDataException naming where, the position and the bad value
     */
    static CompressionCodec checkHeader(ByteBuf buf, int index, int length, String where, long position) {
        if (length < HEADER_SIZE) {
            throw new CorruptDataException("data block truncated: " + where + " position=" + position + " length="
                    + length + " headerSize=" + HEADER_SIZE);
        }
        int magic = buf.getInt(index + MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw new CorruptDataException("data block has bad magic: " + where + " position=" + position
                    + " magic=" + Integer.toHexString(magic));
        }
        CompressionCodec codec = CompressionCodec.fromId(buf.getByte(index + CODEC_OFFSET));
        if (codec == null || buf.getByte(index + FLAGS_OFFSET) != 0 || buf.getShort(index + RESERVED_OFFSET) != 0) {
            throw new CorruptDataException("data block has unknown codec or flags: " + where + " position=" + position
                    + " codec=" + buf.getByte(index + CODEC_OFFSET) + " flags=" + buf.getByte(index + FLAGS_OFFSET));
        }
        int stored = buf.getInt(index + STORED_LENGTH_OFFSET);
        int raw = buf.getInt(index + RAW_LENGTH_OFFSET);
        if (stored != length - HEADER_SIZE || raw < 0 || codec == CompressionCodec.NONE && raw != stored) {
            throw new CorruptDataException("data block lengths do not match: " + where + " position=" + position
                    + " blockLength=" + length + " stored=" + stored + " raw=" + raw);
        }
        return codec;
    }
}
