package dev.strata.objectstore.format;

import static dev.strata.objectstore.format.StreamBatchDescriptor.CRC_COVERED_FROM;
import static dev.strata.objectstore.format.StreamBatchDescriptor.HEADER_SIZE;

import dev.strata.api.CorruptDataException;
import dev.strata.api.RecordBatch;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;

/**
 * Encodes and decodes stream batches (layout: {@link StreamBatchDescriptor}). Core encodes each
 * append once with {@link #encode}; the same buffer then goes to the WAL, the LogCache and, at
 * upload, to {@link ObjectWriter#append}, unchanged.
 *
 * <p>Stateless and thread-safe.
 */
public final class StreamBatchCodec {
    private StreamBatchCodec() {
    }

    /**
     * Encodes one batch into a new buffer from {@code allocator}, CRC included. Copies {@code payload}'s
     * readable bytes and leaves its indexes and reference count alone.
     *
     * @return a buffer the caller owns and must release
     * @throws IllegalArgumentException if {@code count < 1}, {@code baseOffset < 0}, or the offsets overflow
     */
    public static ByteBuf encode(ByteBufAllocator allocator, long streamId, long epoch, long baseOffset, int count,
                                 long baseTimestamp, ByteBuf payload) {
        ByteBuf out = allocator.directBuffer(StreamBatchDescriptor.encodedSize(payload.readableBytes()));
        try {
            encodeTo(out, streamId, epoch, baseOffset, count, baseTimestamp, payload);
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
    }

    /** {@link #encode} for an API {@link RecordBatch} (its count, base timestamp and payload). */
    public static ByteBuf encode(ByteBufAllocator allocator, long streamId, long epoch, long baseOffset,
                                 RecordBatch batch) {
        ByteBuf out = encodeUnassigned(allocator, streamId, epoch, batch);
        try {
            assignBaseOffset(out, baseOffset);
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
    }

    /**
     * {@link #encode(ByteBufAllocator, long, long, long, RecordBatch)} for a batch whose base offset
     * is not known yet: allocation and copy happen now (e.g. before the caller takes the stream's
     * lock), and {@link #assignBaseOffset} fills in the offset and the CRC later. Until then the
     * buffer is not a valid batch.
     *
     * @return a buffer the caller owns and must release
     * @throws IllegalArgumentException if the batch's count is below 1
     */
    public static ByteBuf encodeUnassigned(ByteBufAllocator allocator, long streamId, long epoch, RecordBatch batch) {
        ByteBuf out = allocator.directBuffer(encodedSize(batch));
        try {
            encodeUnassigned(out, streamId, epoch, batch);
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
    }

    /** The encoded size of {@code batch}: header plus payload. */
    public static int encodedSize(RecordBatch batch) {
        return StreamBatchDescriptor.encodedSize(batch.sizeBytes());
    }

    /**
     * {@link #encodeUnassigned(ByteBufAllocator, long, long, RecordBatch)} into a buffer the caller
     * provides: writes {@link #encodedSize(RecordBatch)} bytes at {@code out}'s writer index (which
     * {@link #assignBaseOffset} then expects as the reader index).
     *
     * @throws IllegalArgumentException if the batch's count is below 1
     * @throws IndexOutOfBoundsException if {@code out} cannot take the bytes
     */
    public static void encodeUnassigned(ByteBuf out, long streamId, long epoch, RecordBatch batch) {
        ByteBuffer payload = batch.payload();
        writeHeader(out, streamId, epoch, 0, batch.count(), batch.baseTimestamp(), payload.remaining());
        out.writeBytes(payload); // no CRC yet: assignBaseOffset computes it once the offset is in
    }

    /**
     * Sets the base offset of a batch made by {@link #encodeUnassigned} (at {@code encoded}'s reader
     * index) and computes its CRC; indexes unchanged. The result is byte for byte what
     * {@link #encode(ByteBufAllocator, long, long, long, RecordBatch)} makes with that offset.
     *
     * @throws IllegalArgumentException if {@code baseOffset < 0} or the batch's offsets would overflow
     */
    public static void assignBaseOffset(ByteBuf encoded, long baseOffset) {
        setBaseOffset(encoded, baseOffset);
        finishCrc(encoded, encoded.readerIndex());
    }

    /**
     * Writes the header of an encrypted batch whose payload is an envelope of {@code envelopeLength}
     * bytes (attributes {@link StreamBatchDescriptor#ATTR_ENCRYPTED}, base offset 0, no CRC) at
     * {@code out}'s writer index, and reserves the envelope's bytes after it (the writer index moves
     * past them; their content is the caller's to fill). The caller then sets the offset
     * ({@link #setBaseOffset}), fills the envelope (whose authentication covers the header) and
     * finishes with {@link #finishChecksum}.
     *
     * @throws IllegalArgumentException if {@code count < 1} or {@code envelopeLength < 0}
     */
    public static void encodeUnassignedEncrypted(ByteBuf out, long streamId, long epoch, int count, long baseTimestamp,
                                                 int envelopeLength) {
        if (envelopeLength < 0) {
            throw new IllegalArgumentException("envelopeLength must be >= 0, got " + envelopeLength);
        }
        int start = out.writerIndex();
        writeHeader(out, streamId, epoch, 0, count, baseTimestamp, envelopeLength);
        out.setByte(start + StreamBatchDescriptor.ATTRIBUTES_OFFSET, StreamBatchDescriptor.ATTR_ENCRYPTED);
        out.ensureWritable(envelopeLength);
        out.writerIndex(out.writerIndex() + envelopeLength);
    }

    /**
     * Sets the base offset of the batch at {@code encoded}'s reader index, without the CRC (see
     * {@link #encodeUnassignedEncrypted}); indexes unchanged.
     *
     * @throws IllegalArgumentException if {@code baseOffset < 0} or the batch's offsets would overflow
     */
    public static void setBaseOffset(ByteBuf encoded, long baseOffset) {
        int start = encoded.readerIndex();
        int count = encoded.getInt(start + StreamBatchDescriptor.COUNT_OFFSET);
        if (baseOffset < 0 || baseOffset > Long.MAX_VALUE - count) {
            throw new IllegalArgumentException("batch needs count >= 1 and 0 <= baseOffset <= Long.MAX_VALUE - count, got count="
                    + count + " baseOffset=" + baseOffset);
        }
        encoded.setLong(start + StreamBatchDescriptor.BASE_OFFSET_OFFSET, baseOffset);
    }

    /** Computes and stores the CRC of the batch at {@code encoded}'s reader index, up to its writer index. */
    public static void finishChecksum(ByteBuf encoded) {
        finishCrc(encoded, encoded.readerIndex());
    }

    /** Appends one encoded batch to {@code out} at its writer index. */
    public static void encodeTo(ByteBuf out, long streamId, long epoch, long baseOffset, int count,
                                long baseTimestamp, ByteBuf payload) {
        int start = out.writerIndex();
        int length = payload.readableBytes();
        writeHeader(out, streamId, epoch, baseOffset, count, baseTimestamp, length);
        out.writeBytes(payload, payload.readerIndex(), length);
        finishCrc(out, start);
    }

    private static void writeHeader(ByteBuf out, long streamId, long epoch, long baseOffset, int count,
                                    long baseTimestamp, int payloadLength) {
        if (count < 1 || baseOffset < 0 || baseOffset > Long.MAX_VALUE - count) {
            throw new IllegalArgumentException("batch needs count >= 1 and 0 <= baseOffset <= Long.MAX_VALUE - count, got count="
                    + count + " baseOffset=" + baseOffset);
        }
        out.writeInt(0); // CRC, filled in by finishCrc
        out.writeInt(payloadLength);
        out.writeByte(StreamBatchDescriptor.MAGIC_V1);
        out.writeByte(0); // attributes
        out.writeShort(0); // reserved
        out.writeInt(count);
        out.writeLong(streamId);
        out.writeLong(epoch);
        out.writeLong(baseOffset);
        out.writeLong(baseTimestamp);
    }

    private static void finishCrc(ByteBuf out, int start) {
        int crc = Crc32c.compute(out, start + CRC_COVERED_FROM, out.writerIndex() - start - CRC_COVERED_FROM);
        out.setInt(start + StreamBatchDescriptor.CRC_OFFSET, crc);
    }

    /**
     * A view of the batch at {@code buf}'s reader index, checking the header against the readable
     * bytes (not the CRC: call {@link StreamBatch#verifyChecksum}). Does not move the reader index
     * and does not retain {@code buf}.
     *
     * @throws CorruptDataException if the header is invalid or the batch runs past the readable bytes
     */
    public static StreamBatch wrap(ByteBuf buf) {
        return wrap(buf, "buffer", 0);
    }

    /** {@link #wrap(ByteBuf)} naming the source and position in error messages. */
    public static StreamBatch wrap(ByteBuf buf, String where, long position) {
        int size = StreamBatchDescriptor.checkHeader(buf, buf.readerIndex(), buf.readableBytes(), where, position);
        return new StreamBatch(buf.slice(buf.readerIndex(), size));
    }

    /**
     * Reads the batch at {@code buf}'s reader index, verifies its CRC, and advances the reader index
     * past it. The view is not retained.
     *
     * @throws CorruptDataException if the header or CRC is bad
     */
    public static StreamBatch read(ByteBuf buf, String where, long position) {
        StreamBatch batch = wrap(buf, where, position).verifyChecksum(where + " position=" + position);
        buf.skipBytes(batch.sizeBytes());
        return batch;
    }

    /** Header size, i.e. the encoded size of an empty payload. */
    public static int headerSize() {
        return HEADER_SIZE;
    }
}
