package dev.strata.objectstore.format;

import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.Retrier;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.zip.CRC32C;

/**
 * Writes one object ({@code [data block]* [index] [footer]}) through an {@link ObjectUpload},
 * streaming: each data block is sent as soon as it is full, so memory holds at most one open block
 * plus what the upload has in flight, never the whole object.
 *
 * <pre>
 * Input:  encoded stream batches ({@link StreamBatchCodec}), grouped by stream and in offset order
 *         within a stream (streams may come in any order; the index is sorted at finish).
 * Blocks: consecutive batches of one stream. A block is closed when the next batch is of another
 *         stream, is not contiguous (baseOffset != previous end), would overflow the i32 record
 *         count, or when the block's raw size has reached blockSizeBytes. An uncompressed block is a
 *         gather of the caller's buffers (no copy).
 * Finish: flushes the open block, sorts and checks the index (one stream's ranges may not
 *         overlap), writes index and footer, and completes the upload.
 * </pre>
 *
 * <p><b>Not thread-safe:</b> one thread appends, then finishes or aborts.
 *
 * <p><b>Backpressure:</b> {@link #append}'s future is the upload's write future of the last block
 * sent (complete if none was sent): wait for it before appending more to bound memory.
 *
 * <p><b>Buffers:</b> {@code append} takes ownership of the batch buffer on every outcome; pass
 * {@code buf.retainedDuplicate()} to keep using the buffer (e.g. it is still in the LogCache).
 *
 * <p><b>Failure:</b> an invalid batch (bad header or CRC) fails {@code append} with
 * {@link dev.strata.api.CorruptDataException}; misuse (overlapping offsets of one stream, append
 * after finish) with {@link IllegalArgumentException}/{@link IllegalStateException}; storage
 * errors fail the futures with {@link dev.strata.objectstore.ObjectStorageException}. After any
 * failure, {@link #abort()} discards the upload.
 */
public final class ObjectWriter {
    private final ObjectUpload upload;
    private final ObjectWriterOptions options;
    private final List<IndexEntry> entries = new ArrayList<>();

    private final List<ByteBuf> block = new ArrayList<>(); // batches of the open block, owned
    private long blockStream;
    private long blockStart;
    private long blockNext;
    private long blockRecords;
    private int blockRawBytes;
    private long position; // bytes handed to the upload so far
    private CompletableFuture<Void> lastWrite = CompletableFuture.completedFuture(null);
    private boolean finished;

    /** A writer that sends its bytes to {@code upload} (started by the caller with the key and condition it wants). */
    public ObjectWriter(ObjectUpload upload, ObjectWriterOptions options) {
        this.upload = upload;
        this.options = options;
    }

    public String key() {
        return upload.key();
    }

    /**
     * Adds one encoded batch (its readable bytes). Takes ownership of {@code batch}.
     *
     * @throws dev.strata.api.CorruptDataException if the batch's header or (when verified) CRC is bad
     * @throws IllegalStateException if the writer was finished or aborted
     */
    public CompletableFuture<Void> append(ByteBuf batch) {
        StreamBatch view;
        try {
            if (finished) {
                throw new IllegalStateException("writer already finished or aborted: key=" + key());
            }
            view = StreamBatchCodec.wrap(batch, "upload object=" + key(), position + blockRawBytes);
            if (view.sizeBytes() != batch.readableBytes()) {
                throw new IllegalArgumentException("buffer holds more than one batch: key=" + key() + " batchSize="
                        + view.sizeBytes() + " readable=" + batch.readableBytes());
            }
            if (options.verifyBatchChecksums()) {
                view.verifyChecksum("upload object=" + key());
            }
        } catch (RuntimeException e) {
            batch.release();
            throw e;
        }
        if (!block.isEmpty() && (view.streamId() != blockStream || view.baseOffset() != blockNext
                || blockRecords + view.count() > Integer.MAX_VALUE || blockRawBytes >= options.blockSizeBytes())) {
            try {
                flushBlock();
            } catch (RuntimeException e) {
                batch.release();
                throw e;
            }
        }
        if (block.isEmpty()) {
            blockStream = view.streamId();
            blockStart = view.baseOffset();
            blockRecords = 0;
            blockRawBytes = 0;
        }
        block.add(batch);
        blockNext = view.nextOffset();
        blockRecords += view.count();
        blockRawBytes += view.sizeBytes();
        if (blockRawBytes >= options.blockSizeBytes()) {
            flushBlock();
        }
        return lastWrite;
    }

    private void flushBlock() {
        List<ByteBuf> batches = new ArrayList<>(block);
        block.clear(); // hand-off: the encoder owns the buffers now
        ByteBuf encoded = DataBlockEncoder.encode(batches, (int) blockRecords, options.codec(), options.allocator());
        int size = encoded.readableBytes();
        entries.add(new IndexEntry(blockStream, blockStart, blockNext, (int) blockRecords, position, size));
        position += size;
        lastWrite = upload.write(encoded);
    }

    /** Bytes of blocks handed to the upload so far (the position of the next block). */
    public long position() {
        return position;
    }

    /**
     * Flushes the open block, writes index and footer, and completes the upload.
     *
     * @throws IllegalArgumentException (in the future) if one stream's ranges overlap; the upload is then aborted
     */
    public CompletableFuture<WrittenObject> finish() {
        if (finished) {
            throw new IllegalStateException("writer already finished or aborted: key=" + key());
        }
        if (!block.isEmpty()) {
            flushBlock();
        }
        finished = true;
        List<IndexEntry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(IndexEntry::streamId).thenComparingLong(IndexEntry::startOffset));
        for (int i = 1; i < sorted.size(); i++) {
            IndexEntry prev = sorted.get(i - 1);
            IndexEntry e = sorted.get(i);
            if (e.streamId() == prev.streamId() && e.startOffset() < prev.endOffset()) {
                IllegalArgumentException error = new IllegalArgumentException(
                        "batches of one stream overlap: key=" + key() + " streamId=" + e.streamId() + " range1=["
                                + prev.startOffset() + "," + prev.endOffset() + ") range2=[" + e.startOffset() + ","
                                + e.endOffset() + ")");
                return upload.abort().handle((v, x) -> null)
                        .thenCompose(v -> CompletableFuture.failedFuture(error));
            }
        }
        ObjectIndex index = new ObjectIndex(sorted);
        ByteBuf indexBytes = index.encode(options.allocator());
        int indexLength = sorted.size() * ObjectIndexDescriptor.ENTRY_SIZE;
        CRC32C crc = new CRC32C();
        Crc32c.update(crc, indexBytes, 0, indexLength);
        ByteBuf footer = options.allocator().directBuffer(ObjectFooterDescriptor.FOOTER_SIZE);
        ObjectFooterDescriptor.write(footer, position, indexLength, (int) crc.getValue(), sorted.size());
        CompositeByteBuf tail = options.allocator().compositeDirectBuffer(2);
        tail.addComponent(true, indexBytes);
        tail.addComponent(true, footer);
        long size = position + tail.readableBytes();
        upload.write(tail);
        return Retrier.unwrapped(upload.complete()
                .thenApply(info -> new WrittenObject(key(), size, info.etag(), index)));
    }

    /** Releases buffered batches and aborts the upload; idempotent. */
    public CompletableFuture<Void> abort() {
        for (ByteBuf b : block) {
            b.release();
        }
        block.clear();
        boolean wasFinished = finished;
        finished = true;
        return wasFinished ? CompletableFuture.completedFuture(null) : upload.abort();
    }
}
