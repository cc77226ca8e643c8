package dev.strata.objectstore.format;

import dev.strata.api.CorruptDataException;
import io.netty.buffer.ByteBuf;

/**
 * Layout of one stream batch: the single record encoding used unchanged in the WAL, the LogCache
 * and object data blocks (DESIGN: "one record encoding ... so uploading is a gather-write with no
 * re-encoding").
 *
 * <pre>
 *  0        4        8  9  10    12       16               24               32               40               48
 *  +--------+--------+--+--+-----+--------+----------------+----------------+----------------+----------------+----------
 *  | crc    | length |mg|at| rsv | count  | streamId (i64) | epoch (i64)    | baseOffset(i64)| baseTs (i64)   | payload (length bytes)
 *  +--------+--------+--+--+-----+--------+----------------+----------------+----------------+----------------+----------
 *  crc      i32  CRC32C of bytes [4, 48 + length): everything after the crc field, payload included
 *  length   i32  payload length in bytes, >= 0
 *  mg       i8   magic = format version of the batch, currently 1; a reader rejects others
 *  at       i8   attributes: 0 (plain), or {@link #ATTR_ENCRYPTED} (bit 0: the payload is an encryption
 *                envelope, see core's {@code dev.strata.core.crypto.EnvelopeDescriptor}); a reader rejects
 *                every other bit. Only a stream of an encrypting tenant ever has a batch with bit 0 set,
 *                so a store without encryption writes exactly the bytes it always wrote, and a release
 *                that predates bit 0 refuses such a batch ("unknown attributes",
 *                {@code CorruptDataException}) instead of returning the envelope as data.
 *  rsv      i16  0
 *  count    i32  number of records (offsets) the batch takes, >= 1
 *  streamId i64  the stream
 *  epoch    i64  the epoch of the stream's holder that appended it (fencing)
 *  baseOffset i64 offset of the first record; the batch covers [baseOffset, baseOffset + count)
 *  baseTs   i64  caller-defined base timestamp
 * </pre>
 * Big-endian. The CRC leads so that it covers the length: a corrupted length makes the CRC range
 * wrong and the check fail, instead of silently re-framing the following bytes. The payload is
 * opaque (records inside are the caller's business).
 */
public final class StreamBatchDescriptor {

    /** Offset of the CRC32C. */
    public static final int CRC_OFFSET = 0;
    /** Offset of the payload length. */
    public static final int LENGTH_OFFSET = CRC_OFFSET + Integer.BYTES;
    /** Offset of the magic (format version) byte. */
    public static final int MAGIC_OFFSET = LENGTH_OFFSET + Integer.BYTES;
    /** Offset of the attributes byte. */
    public static final int ATTRIBUTES_OFFSET = MAGIC_OFFSET + Byte.BYTES;
    /** Offset of the reserved 16 bits. */
    public static final int RESERVED_OFFSET = ATTRIBUTES_OFFSET + Byte.BYTES;
    /** Offset of the record count. */
    public static final int COUNT_OFFSET = RESERVED_OFFSET + Short.BYTES;
    /** Offset of the stream id. */
    public static final int STREAM_ID_OFFSET = COUNT_OFFSET + Integer.BYTES;
    /** Offset of the epoch. */
    public static final int EPOCH_OFFSET = STREAM_ID_OFFSET + Long.BYTES;
    /** Offset of the base offset. */
    public static final int BASE_OFFSET_OFFSET = EPOCH_OFFSET + Long.BYTES;
    /** Offset of the base timestamp. */
    public static final int BASE_TIMESTAMP_OFFSET = BASE_OFFSET_OFFSET + Long.BYTES;
    /** Size of the header; the payload starts here. */
    public static final int HEADER_SIZE = BASE_TIMESTAMP_OFFSET + Long.BYTES;
    /** First byte the CRC covers. */
    public static final int CRC_COVERED_FROM = LENGTH_OFFSET;

    /**
     * Attribute bit 0: the payload is an encryption envelope (version, data-key id, nonce, AES-GCM
     * ciphertext and tag), not the appended bytes; only a reader that decrypts may hand it out.
     */
    public static final byte ATTR_ENCRYPTED = 1;
    /** Every attribute bit this build knows. */
    public static final byte KNOWN_ATTRIBUTES = ATTR_ENCRYPTED;

    /** The only batch format version this code reads and writes. */
    public static final byte MAGIC_V1 = 1;

    private StreamBatchDescriptor() {
    }

    /** Encoded size of a batch with a payload of {@code payloadLength} bytes. */
    public static int encodedSize(int payloadLength) {
        return HEADER_SIZE + payloadLength;
    }

    /**
     * Checks the header of the batch at absolute {@code index} of {@code buf} against the layout and
     * against the {@code available} bytes from {@code index}; returns the batch's encoded size.
     * Does not check the CRC.
     *
     * @param where names the source for the message (e.g. "object=9f3a/sso/... block=3")
     * @throws CorruptDataException naming where, the position and the bad value
     */
    public static int checkHeader(ByteBuf buf, int index, int available, String where, long position) {
        if (available < HEADER_SIZE) {
            throw new CorruptDataException("stream batch truncated: " + where + " position=" + position
                    + " available=" + available + " headerSize=" + HEADER_SIZE);
        }
        byte magic = buf.getByte(index + MAGIC_OFFSET);
        if (magic != MAGIC_V1) {
            throw new CorruptDataException("stream batch has unknown magic: " + where + " position=" + position
                    + " magic=" + magic);
        }
        byte attributes = buf.getByte(index + ATTRIBUTES_OFFSET);
        short reserved = buf.getShort(index + RESERVED_OFFSET);
        if ((attributes & ~KNOWN_ATTRIBUTES) != 0 || reserved != 0) {
            throw new CorruptDataException("stream batch has unknown attributes: " + where + " position=" + position
                    + " attributes=" + attributes + " reserved=" + reserved);
        }
        int length = buf.getInt(index + LENGTH_OFFSET);
        if (length < 0 || length > available - HEADER_SIZE) {
            throw new CorruptDataException("stream batch length out of bounds: " + where + " position=" + position
                    + " length=" + length + " available=" + (available - HEADER_SIZE));
        }
        int count = buf.getInt(index + COUNT_OFFSET);
        long baseOffset = buf.getLong(index + BASE_OFFSET_OFFSET);
        if (count < 1 || baseOffset < 0 || baseOffset > Long.MAX_VALUE - count) {
            throw new CorruptDataException("stream batch has invalid offsets: " + where + " position=" + position
                    + " count=" + count + " baseOffset=" + baseOffset);
        }
        return HEADER_SIZE + length;
    }
}
