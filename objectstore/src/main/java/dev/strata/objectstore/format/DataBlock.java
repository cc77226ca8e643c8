package dev.strata.objectstore.format;

import static dev.strata.objectstore.format.DataBlockDescriptor.CRC_OFFSET;
import static dev.strata.objectstore.format.DataBlockDescriptor.HEADER_SIZE;

import dev.strata.api.CorruptDataException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.DefaultByteBufHolder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A decoded data block: the consecutive batches of one stream, uncompressed, in
 * {@link #content()}. This is what the block cache keeps, keyed by (object, block index), and
 * weighs by {@link #sizeBytes()}.
 *
 * <p><b>Buffers:</b> the block holds one reference to its content and the caller of
 * {@link #decode} owns it: {@link #release()} when done, {@link #retain()} to share (e.g. cache plus
 * reader). The {@link StreamBatch} views of {@link #batches()} are valid while the block is
 * retained. A block stored uncompressed is a slice of the buffer it was decoded from, so it keeps
 * that whole buffer alive (with coalesced reads, the whole range); compressed blocks own a buffer
 * of exactly their raw size.
 *
 * <p>Immutable and thread-safe apart from the reference count, which is atomic.
 */
public final class DataBlock extends DefaultByteBufHolder {
    private final long streamId;
    private final long startOffset;
    private final long endOffset;
    private final int recordCount;
    private final List<StreamBatch> batches;

    private DataBlock(ByteBuf content, long streamId, long startOffset, long endOffset, int recordCount,
                      List<StreamBatch> batches) {
        super(content);
        this.streamId = streamId;
        this.startOffset = startOffset;
        this.endOffset = endOffset;
        this.recordCount = recordCount;
        this.batches = batches;
    }

    /**
     * Decodes the block whose bytes are exactly {@code block}'s readable bytes: checks header and CRC,
     * decompresses, and checks that the batches are of one stream, contiguous, add up to the
     * header's record count and fill the raw length exactly. Does not consume or release
     * {@code block}.
     *
     * @param where names the source in error messages, e.g. {@code "object=<key> block=3"}
     * @param position where the block starts in its object, for error messages
     * @return a block the caller owns and must release
     * @throws CorruptDataException if any check fails
     */
    public static DataBlock decode(ByteBuf block, ByteBufAllocator allocator, String where, long position) {
        int index = block.readerIndex();
        int length = block.readableBytes();
        CompressionCodec codec = DataBlockDescriptor.checkHeader(block, index, length, where, position);
        CRC32C crc = new CRC32C();
        Crc32c.update(crc, block, index, CRC_OFFSET);
        Crc32c.update(crc, block, index + HEADER_SIZE, length - HEADER_SIZE);
        int stored = block.getInt(index + CRC_OFFSET);
        int computed = (int) crc.getValue();
        if (stored != computed) {
            throw new CorruptDataException("data block CRC mismatch: " + where + " position=" + position
                    + " stored=" + Integer.toHexString(stored) + " computed=" + Integer.toHexString(computed));
        }
        int rawLength = block.getInt(index + DataBlockDescriptor.RAW_LENGTH_OFFSET);
        int recordCount = block.getInt(index + DataBlockDescriptor.RECORD_COUNT_OFFSET);
        ByteBuf storedBytes = block.slice(index + HEADER_SIZE, length - HEADER_SIZE);
        ByteBuf raw = codec == CompressionCodec.NONE
                ? storedBytes.retainedSlice()
                : codec.decompress(storedBytes, rawLength, allocator, where + " position=" + position);
        try {
            return parse(raw, recordCount, where, position);
        } catch (RuntimeException e) {
            raw.release();
            throw e;
        }
    }

    private static DataBlock parse(ByteBuf raw, int recordCount, String where, long position) {
        List<StreamBatch> batches = new ArrayList<>();
        int at = raw.readerIndex();
        int end = raw.writerIndex();
        long streamId = 0;
        long next = 0;
        long records = 0;
        while (at < end) {
            int size = StreamBatchDescriptor.checkHeader(raw, at, end - at, where, position + HEADER_SIZE + at);
            StreamBatch b = new StreamBatch(raw.slice(at, size));
            if (batches.isEmpty()) {
                streamId = b.streamId();
            } else if (b.streamId() != streamId || b.baseOffset() != next) {
                throw new CorruptDataException("data block batches are not one contiguous stream range: " + where
                        + " position=" + position + " expectedStream=" + streamId + " expectedOffset=" + next
                        + " stream=" + b.streamId() + " baseOffset=" + b.baseOffset());
            }
            next = b.nextOffset();
            records += b.count();
            batches.add(b);
            at += size;
        }
        if (batches.isEmpty() || records != recordCount) {
            throw new CorruptDataException("data block record count does not match its batches: " + where
                    + " position=" + position + " header=" + recordCount + " batches=" + records);
        }
        return new DataBlock(raw, streamId, batches.get(0).baseOffset(), next, recordCount,
                Collections.unmodifiableList(batches));
    }

    public long streamId() {
        return streamId;
    }

    /** Base offset of the first batch. */
    public long startOffset() {
        return startOffset;
    }

    /** Offset after the last batch's last record (exclusive end). */
    public long endOffset() {
        return endOffset;
    }

    public int recordCount() {
        return recordCount;
    }

    /** The batches in offset order; views valid while this block is retained. */
    public List<StreamBatch> batches() {
        return batches;
    }

    /**
     * Index in {@link #batches()} of the batch that contains {@code offset}, or -1 if the block does
     * not cover it. Binary search.
     */
    public int batchIndexOf(long offset) {
        int lo = 0;
        int hi = batches.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            StreamBatch b = batches.get(mid);
            if (offset < b.baseOffset()) {
                hi = mid - 1;
            } else if (offset >= b.nextOffset()) {
                lo = mid + 1;
            } else {
                return mid;
            }
        }
        return -1;
    }

    /** Bytes of the decoded batches (what a cache should weigh). */
    public int sizeBytes() {
        return content().readableBytes();
    }

    @Override
    public DataBlock replace(ByteBuf content) {
        return parse(content, recordCount, "replaced block", 0);
    }

    @Override
    public DataBlock retain() {
        super.retain();
        return this;
    }

    @Override
    public String toString() {
        return "DataBlock[streamId=" + streamId + ", offsets=[" + startOffset + "," + endOffset + "), batches="
                + batches.size() + ", bytes=" + sizeBytes() + "]";
    }
}
