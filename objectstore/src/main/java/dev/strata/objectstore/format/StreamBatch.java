package dev.strata.objectstore.format;

import static dev.strata.objectstore.format.StreamBatchDescriptor.BASE_OFFSET_OFFSET;
import static dev.strata.objectstore.format.StreamBatchDescriptor.BASE_TIMESTAMP_OFFSET;
import static dev.strata.objectstore.format.StreamBatchDescriptor.COUNT_OFFSET;
import static dev.strata.objectstore.format.StreamBatchDescriptor.CRC_COVERED_FROM;
import static dev.strata.objectstore.format.StreamBatchDescriptor.CRC_OFFSET;
import static dev.strata.objectstore.format.StreamBatchDescriptor.EPOCH_OFFSET;
import static dev.strata.objectstore.format.StreamBatchDescriptor.HEADER_SIZE;
import static dev.strata.objectstore.format.StreamBatchDescriptor.LENGTH_OFFSET;
import static dev.strata.objectstore.format.StreamBatchDescriptor.STREAM_ID_OFFSET;

import dev.strata.api.CorruptDataException;
import io.netty.buffer.ByteBuf;

/**
 * A read-only view of one encoded stream batch (layout: {@link StreamBatchDescriptor}). Made by
 * {@link StreamBatchCodec#wrap} or {@link DataBlock#batches()}.
 *
 * <p><b>Buffers:</b> a view does not own its bytes: it is valid while the buffer it was made from
 * is retained, and is never released itself. {@link #encoded()} and {@link #payload()} return
 * unretained slices; call {@code retainedSlice()}/{@code retain()} on them to keep them longer.
 *
 * <p>Immutable and thread-safe (reads use absolute indexes only).
 */
public final class StreamBatch {
    private final ByteBuf buf; // exactly the batch: index 0 is the CRC

    StreamBatch(ByteBuf exact) {
        this.buf = exact;
    }

    public long streamId() {
        return buf.getLong(STREAM_ID_OFFSET);
    }

    public long epoch() {
        return buf.getLong(EPOCH_OFFSET);
    }

    public long baseOffset() {
        return buf.getLong(BASE_OFFSET_OFFSET);
    }

    /** Records (offsets) in the batch, at least 1. */
    public int count() {
        return buf.getInt(COUNT_OFFSET);
    }

    /** {@code baseOffset() + count()}: the offset after the batch's last record. */
    public long nextOffset() {
        return baseOffset() + count();
    }

    public long baseTimestamp() {
        return buf.getLong(BASE_TIMESTAMP_OFFSET);
    }

    public int payloadLength() {
        return buf.getInt(LENGTH_OFFSET);
    }

    /** The attributes byte (see {@link StreamBatchDescriptor#ATTR_ENCRYPTED}). */
    public byte attributes() {
        return buf.getByte(StreamBatchDescriptor.ATTRIBUTES_OFFSET);
    }

    /**
     * Whether the payload is an encryption envelope: then {@link #payload()} is ciphertext, and a
     * read path must decrypt it (core's {@code BatchCipher}) before handing it to anyone as data.
     */
    public boolean isEncrypted() {
        return (attributes() & StreamBatchDescriptor.ATTR_ENCRYPTED) != 0;
    }

    /**
     * The stored payload: an unretained slice. For an {@linkplain #isEncrypted() encrypted} batch
     * these are the envelope's bytes (ciphertext), not the appended data.
     */
    public ByteBuf payload() {
        return buf.slice(HEADER_SIZE, payloadLength());
    }

    /** The whole encoded batch (header and payload): an unretained slice. */
    public ByteBuf encoded() {
        return buf.slice(0, buf.capacity());
    }

    /** Encoded size in bytes. */
    public int sizeBytes() {
        return buf.capacity();
    }

    public int storedCrc() {
        return buf.getInt(CRC_OFFSET);
    }

    public int computeCrc() {
        return Crc32c.compute(buf, CRC_COVERED_FROM, buf.capacity() - CRC_COVERED_FROM);
    }

    /**
     * Checks the stored CRC against the bytes.
     *
     * @throws CorruptDataException naming {@code where}, the stream, offset and both CRCs
     */
    public StreamBatch verifyChecksum(String where) {
        int stored = storedCrc();
        int computed = computeCrc();
        if (stored != computed) {
            throw new CorruptDataException("stream batch CRC mismatch: " + where + " streamId=" + streamId()
                    + " baseOffset=" + baseOffset() + " stored=" + Integer.toHexString(stored)
                    + " computed=" + Integer.toHexString(computed));
        }
        return this;
    }

    @Override
    public String toString() {
        return "StreamBatch[streamId=" + streamId() + ", epoch=" + epoch() + ", offsets=[" + baseOffset() + ","
                + nextOffset() + "), baseTimestamp=" + baseTimestamp() + ", payloadLength=" + payloadLength()
                + (isEncrypted() ? ", encrypted" : "") + "]";
    }
}
