package dev.strata.objectstore.format;

import static dev.strata.objectstore.format.ObjectFooterDescriptor.FOOTER_SIZE;

import dev.strata.api.CorruptDataException;
import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.Retrier;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Reads one object: {@link #open} fetches footer and index with one ranged GET of the object's
 * tail (a guessed size; a second GET only if the index is larger than the guess), then
 * {@link #readBlocks} fetches data blocks with one ranged GET per run of adjacent blocks.
 *
 * <pre>
 * Checks: footer magic, CRC and version; index CRC and invariants (ObjectIndexDescriptor);
 *   each block's header, CRC, decompressed length and batches (DataBlock.decode), and that the
 *   decoded block is the one the index promised (stream, offsets, records). Any failure is a
 *   CorruptDataException naming the key and position; wrong data is never returned.
 * Coalescing: the blocks requested are sorted by position; a run of blocks where each starts where
 *   the previous ended, up to maxCoalesceBytes, is one GET.
 * Failure granularity: every block has its own CRC, so one GET can return intact and damaged
 *   blocks. readEachBlock reports each block's outcome (a damaged block never fails its intact
 *   neighbours); readBlocks is all-or-nothing on top of it.
 * </pre>
 *
 * <p>Immutable and thread-safe once open: many threads may read blocks concurrently. Keep the
 * reader (or its {@link #index()}) cached per object to skip the tail GET next time; a reader can
 * be rebuilt without I/O from a cached index with {@link #of}.
 *
 * <p><b>Buffers:</b> the reader holds none. Every returned {@link DataBlock} is owned by the caller.
 */
public final class ObjectReader {

    /** Default tail GET: 64 KiB holds the index of ~1600 blocks (~1.6 GiB of 1 MiB blocks) in one request. */
    public static final int DEFAULT_TAIL_GUESS_BYTES = 64 * 1024;
    /** Default cap on one coalesced GET: 8 MiB keeps one request's latency and buffer modest. */
    public static final int DEFAULT_MAX_COALESCE_BYTES = 8 * 1024 * 1024;

    private final ObjectStorage storage;
    private final String key;
    private final long objectSize;
    private final ObjectIndex index;
    private final ByteBufAllocator allocator;
    private final int maxCoalesceBytes;

    private ObjectReader(ObjectStorage storage, String key, long objectSize, ObjectIndex index,
                         ByteBufAllocator allocator, int maxCoalesceBytes) {
        this.storage = storage;
        this.key = key;
        this.objectSize = objectSize;
        this.index = index;
        this.allocator = allocator;
        this.maxCoalesceBytes = maxCoalesceBytes;
    }

    /** {@link #open(ObjectStorage, String, long, int)} with the default tail guess. */
    public static CompletableFuture<ObjectReader> open(ObjectStorage storage, String key, long objectSize) {
        return open(storage, key, objectSize, DEFAULT_TAIL_GUESS_BYTES);
    }

    /**
     * Opens {@code key}: one GET of its last {@code tailGuessBytes} bytes (a suffix range if
     * {@code objectSize} is unknown, i.e. -1), plus one more if the index did not fit.
     *
     * @return fails with CorruptDataException if footer or index are bad, or an ObjectStorageException
     */
    public static CompletableFuture<ObjectReader> open(ObjectStorage storage, String key, long objectSize,
                                                       int tailGuessBytes) {
        return Retrier.unwrapped(openTail(storage, key, objectSize, tailGuessBytes));
    }

    private static CompletableFuture<ObjectReader> openTail(ObjectStorage storage, String key, long objectSize,
                                                            int tailGuessBytes) {
        if (tailGuessBytes < FOOTER_SIZE) {
            throw new IllegalArgumentException("tailGuessBytes must be >= " + FOOTER_SIZE + ", got " + tailGuessBytes);
        }
        ByteRange tail = objectSize < 0
                ? ByteRange.suffix(tailGuessBytes)
                : objectSize <= tailGuessBytes ? ByteRange.all() : ByteRange.of(objectSize - tailGuessBytes, tailGuessBytes);
        if (objectSize >= 0 && objectSize < FOOTER_SIZE) {
            return CompletableFuture.failedFuture(new CorruptDataException("object too small for a footer: object="
                    + key + " size=" + objectSize + " footerSize=" + FOOTER_SIZE));
        }
        return withTruncationAsCorruption(storage.get(key, tail), key, tail).thenCompose(data -> {
            try {
                return CompletableFuture.completedFuture(fromTail(storage, key, data));
            } catch (NeedsMore more) {
                ByteRange indexRange = ByteRange.of(more.footer.indexPosition(), Math.max(1, more.footer.indexLength()));
                return withTruncationAsCorruption(storage.get(key, indexRange), key, indexRange)
                        .thenApply(indexData -> {
                            try {
                                return new ObjectReader(storage, key, more.size,
                                        decodeIndex(indexData.content(), more.footer, key),
                                        PooledByteBufAllocator.DEFAULT, DEFAULT_MAX_COALESCE_BYTES);
                            } finally {
                                indexData.release();
                            }
                        });
            } finally {
                data.release();
            }
        });
    }

    /**
     * A range the footer or index promised but the store cannot serve (HTTP 416: the object is
     * shorter than they say) means the object is truncated: report it as corrupt, not as a storage error.
     */
    private static CompletableFuture<ObjectData> withTruncationAsCorruption(CompletableFuture<ObjectData> get,
                                                                           String key, ByteRange range) {
        return get.exceptionallyCompose(error -> {
            Throwable cause = Retrier.unwrap(error);
            if (cause instanceof ObjectStorageException e && e.httpStatus() == 416) {
                return CompletableFuture.failedFuture(new CorruptDataException(
                        "object shorter than its footer or index say (truncated?): object=" + key + " range=" + range,
                        e));
            }
            return CompletableFuture.failedFuture(cause);
        });
    }

    /** A reader on an index the caller already has (e.g. cached from {@link WrittenObject}); no I/O. */
    public static ObjectReader of(ObjectStorage storage, String key, long objectSize, ObjectIndex index) {
        return new ObjectReader(storage, key, objectSize, index, PooledByteBufAllocator.DEFAULT,
                DEFAULT_MAX_COALESCE_BYTES);
    }

    /** This reader with another allocator for decompressed blocks and another coalescing cap. */
    public ObjectReader with(ByteBufAllocator allocator, int maxCoalesceBytes) {
        if (maxCoalesceBytes < 1) {
            throw new IllegalArgumentException("maxCoalesceBytes must be >= 1, got " + maxCoalesceBytes);
        }
        return new ObjectReader(storage, key, objectSize, index, allocator, maxCoalesceBytes);
    }

    /** Signals that the index lies before the fetched tail; carries the checked footer. */
    private static final class NeedsMore extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient ObjectFooter footer;
        final long size;

        NeedsMore(ObjectFooter footer, long size) {
            super(null, null, false, false);
            this.footer = footer;
            this.size = size;
        }
    }

    private static ObjectReader fromTail(ObjectStorage storage, String key, ObjectData data) {
        ByteBuf buf = data.content();
        long size = data.objectSize();
        if (size < FOOTER_SIZE || buf.readableBytes() < FOOTER_SIZE
                || data.position() + buf.readableBytes() != size) {
            throw new CorruptDataException("object too small for a footer, or tail read short: object=" + key
                    + " size=" + size + " tailPosition=" + data.position() + " tailLength=" + buf.readableBytes());
        }
        int footerAt = buf.readerIndex() + buf.readableBytes() - FOOTER_SIZE;
        ObjectFooter footer = ObjectFooterDescriptor.read(buf, footerAt, size, key);
        if (footer.indexPosition() < data.position()) {
            throw new NeedsMore(footer, size);
        }
        int indexAt = buf.readerIndex() + (int) (footer.indexPosition() - data.position());
        ObjectIndex index = ObjectIndex.decode(buf, indexAt, footer, key);
        return new ObjectReader(storage, key, size, index, PooledByteBufAllocator.DEFAULT, DEFAULT_MAX_COALESCE_BYTES);
    }

    private static ObjectIndex decodeIndex(ByteBuf buf, ObjectFooter footer, String key) {
        if (buf.readableBytes() != footer.indexLength() && footer.indexLength() > 0) {
            throw new CorruptDataException("object index read short: object=" + key + " position="
                    + footer.indexPosition() + " expected=" + footer.indexLength() + " actual=" + buf.readableBytes());
        }
        return ObjectIndex.decode(buf, buf.readerIndex(), footer, key);
    }

    public String key() {
        return key;
    }

    public long objectSize() {
        return objectSize;
    }

    public ObjectIndex index() {
        return index;
    }

    /** Reads and decodes block {@code block} (one GET). The caller releases the result. */
    public CompletableFuture<DataBlock> readBlock(int block) {
        return readBlocks(block, block + 1).thenApply(list -> list.get(0));
    }

    /**
     * Reads and decodes blocks {@code [fromBlock, toBlock)} of the index, with one GET per run of
     * adjacent blocks. The list is in index order; the caller releases every block. If any block
     * fails, every block already decoded is released and the future fails (with the failure of the
     * first failed block in index order). Callers that can use intact blocks when a neighbour is
     * damaged use {@link #readEachBlock}.
     *
     * @throws IndexOutOfBoundsException if the range is not within the index
     */
    public CompletableFuture<List<DataBlock>> readBlocks(int fromBlock, int toBlock) {
        List<CompletableFuture<DataBlock>> each = readEachBlock(fromBlock, toBlock);
        return Retrier.unwrapped(CompletableFuture.allOf(each.toArray(CompletableFuture[]::new)).handle((v, ignored) -> {
            // every future is done here: release what decoded if anything failed
            Throwable firstFailure = null;
            List<DataBlock> out = new ArrayList<>(each.size());
            for (CompletableFuture<DataBlock> f : each) {
                if (f.isCompletedExceptionally()) {
                    if (firstFailure == null) {
                        firstFailure = f.handle((b, e) -> e).join();
                    }
                } else {
                    out.add(f.join());
                }
            }
            if (firstFailure != null) {
                out.forEach(DataBlock::release);
                throw new CompletionException(Retrier.unwrap(firstFailure));
            }
            return out;
        }));
    }

    /**
     * Reads and decodes blocks {@code [fromBlock, toBlock)} of the index, with one GET per run of
     * adjacent blocks (as {@link #readBlocks}), and one outcome per block, in index order.
     *
     * <p>Blocks are checked one by one (each carries its own CRC), so a damaged block fails only its
     * own future, with a {@link CorruptDataException} naming it; the intact blocks read by the same
     * GET still complete. A GET that fails, or returns fewer bytes than the run, fails every block
     * of its run. Futures fail with the unwrapped cause.
     *
     * <p>The caller owns, and must release, every block whose future completes successfully.
     *
     * @throws IndexOutOfBoundsException if the range is not within the index
     */
    public List<CompletableFuture<DataBlock>> readEachBlock(int fromBlock, int toBlock) {
        if (fromBlock < 0 || toBlock > index.size() || fromBlock >= toBlock) {
            throw new IndexOutOfBoundsException("block range [" + fromBlock + "," + toBlock + ") not within [0,"
                    + index.size() + "): object=" + key);
        }
        List<CompletableFuture<DataBlock>> out = new ArrayList<>(toBlock - fromBlock);
        for (int i = fromBlock; i < toBlock; i++) {
            out.add(new CompletableFuture<>());
        }
        for (List<Integer> run : runs(fromBlock, toBlock)) {
            List<CompletableFuture<DataBlock>> futures = new ArrayList<>(run.size());
            for (int i : run) {
                futures.add(out.get(i - fromBlock));
            }
            readRun(run, futures);
        }
        return List.copyOf(out);
    }

    /** Blocks {@code [fromBlock, toBlock)} sorted by position, cut into runs of adjacent blocks of at most maxCoalesceBytes. */
    private List<List<Integer>> runs(int fromBlock, int toBlock) {
        List<Integer> order = new ArrayList<>();
        for (int i = fromBlock; i < toBlock; i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingLong(i -> index.entry(i).position()));
        List<List<Integer>> runs = new ArrayList<>();
        List<Integer> run = new ArrayList<>();
        long runEnd = -1;
        long runBytes = 0;
        for (int i : order) {
            IndexEntry e = index.entry(i);
            if (!run.isEmpty() && (e.position() != runEnd || runBytes + e.size() > maxCoalesceBytes)) {
                runs.add(run);
                run = new ArrayList<>();
                runBytes = 0;
            }
            run.add(i);
            runEnd = e.position() + e.size();
            runBytes += e.size();
        }
        runs.add(run);
        return runs;
    }

    /** One GET for {@code run}; completes {@code futures.get(k)} with block {@code run.get(k)} or its failure. */
    private void readRun(List<Integer> run, List<CompletableFuture<DataBlock>> futures) {
        IndexEntry first = index.entry(run.get(0));
        IndexEntry last = index.entry(run.get(run.size() - 1));
        long length = last.position() + last.size() - first.position();
        ByteRange range = ByteRange.of(first.position(), length);
        CompletableFuture<ObjectData> get;
        try {
            get = withTruncationAsCorruption(storage.get(key, range), key, range);
        } catch (RuntimeException e) {
            get = CompletableFuture.failedFuture(e);
        }
        get.whenComplete((data, error) -> {
            if (error != null) {
                Throwable cause = Retrier.unwrap(error);
                futures.forEach(f -> f.completeExceptionally(cause));
                return;
            }
            try {
                ByteBuf buf = data.content();
                if (buf.readableBytes() != length) {
                    CorruptDataException shortRead = new CorruptDataException("data blocks read short (object "
                            + "truncated?): object=" + key + " position=" + first.position() + " expected=" + length
                            + " actual=" + buf.readableBytes());
                    futures.forEach(f -> f.completeExceptionally(shortRead));
                    return;
                }
                for (int k = 0; k < run.size(); k++) {
                    try {
                        futures.get(k).complete(decodeBlock(buf, first.position(), run.get(k)));
                    } catch (RuntimeException e) {
                        futures.get(k).completeExceptionally(e);
                    }
                }
            } finally {
                data.release();
            }
        });
    }

    /** Decodes block {@code i} from {@code buf}, which holds the object's bytes from {@code bufPosition}. */
    private DataBlock decodeBlock(ByteBuf buf, long bufPosition, int i) {
        IndexEntry e = index.entry(i);
        int at = buf.readerIndex() + (int) (e.position() - bufPosition);
        DataBlock block = DataBlock.decode(buf.slice(at, e.size()), allocator, "object=" + key + " block=" + i,
                e.position());
        if (block.streamId() != e.streamId() || block.startOffset() != e.startOffset()
                || block.endOffset() != e.endOffset() || block.recordCount() != e.recordCount()) {
            String msg = "data block does not match its index entry: object=" + key + " block=" + i
                    + " position=" + e.position() + " index=" + e + " block=" + block;
            block.release();
            throw new CorruptDataException(msg);
        }
        return block;
    }

    /**
     * Reads and checks every block; completes with the object's stream ranges (rebuilt from the
     * object alone) if all are intact, else fails with CorruptDataException. For verification tools.
     */
    public CompletableFuture<List<StreamRange>> verify() {
        if (index.size() == 0) {
            return CompletableFuture.completedFuture(index.streamRanges());
        }
        return readBlocks(0, index.size()).thenApply(blocks -> {
            for (DataBlock b : blocks) {
                b.release();
            }
            return index.streamRanges();
        });
    }

    @Override
    public String toString() {
        return "ObjectReader[key=" + key + ", size=" + objectSize + ", blocks=" + index.size() + "]";
    }
}
