package dev.strata.core.read;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.strata.core.support.WaitSignal;
import dev.strata.core.support.Futures;
import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.StorageException;
import dev.strata.api.StreamClosedException;
import dev.strata.cache.BlockCache;
import dev.strata.cache.BlockLoader;
import dev.strata.cache.BlockRef;
import dev.strata.core.crypto.TenantKeyring;
import dev.strata.core.metadata.MetadataStore;
import dev.strata.core.metadata.ObjectMetadata;
import dev.strata.core.metadata.StreamRange;
import dev.strata.objectstore.ObjectKeys;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.Retrier;
import dev.strata.objectstore.format.DataBlock;
import dev.strata.objectstore.format.IndexEntry;
import dev.strata.objectstore.format.ObjectIndex;
import dev.strata.objectstore.format.ObjectReader;
import dev.strata.objectstore.format.StreamBatch;
import dev.strata.objectstore.format.StreamBatchCodec;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;

/**
 * Catch-up reads: data below what the LogCache holds, read from committed objects through the
 * {@link BlockCache} (decoded blocks, single-flight loads, read-ahead, bounded in-flight bytes).
 *
 * <p>Finding data: the metadata's range index gives the objects holding a stream's offsets; each
 * object's index (footer + index, one tail GET, then cached) gives the blocks. Both the
 * {@link BlockLoader} and the {@link dev.strata.cache.BlockLocator} the block cache uses are
 * implemented here.
 *
 * <p>Concurrency: fetches run on the read executor ("strata-read-N"), separate from the WAL and
 * upload threads, so catch-up reads never delay tail reads or appends; they block on cache reads,
 * whose loads complete on the storage's threads and the cache's own "strata-blockcache-N" threads
 * (never on the read executor). Thread-safe.
 *
 * <p>Buffers: a fetch result holds retained block buffers and releases them when closed.
 *
 * <p>Close: {@link #close()} fails every fetch future still pending with
 * {@link StreamClosedException}, whatever the object store does (it may never answer, during an
 * outage): a fetch waits for its index and block reads together with its own future, so failing
 * that future wakes it, and what it waited for is released when it arrives. Any other failure of a
 * fetch caught by close (the block cache or the storage closing under it) is reported as
 * {@link StreamClosedException} too, with the original as its cause.
 */
public final class ObjectReadPath implements ObjectCatalog, AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ObjectReadPath.class);

    /** Object indexes kept: about a hundred bytes per block each; bounded so metadata of huge stores fits. */
    private static final int MAX_CACHED_READERS = 4096;

    private final ObjectStorage storage;
    /** Decrypts encrypted batches; never lets ciphertext out as data. */
    private final TenantKeyring keyring;
    private final MetadataStore metadata;
    private final BlockCache blockCache;
    /** Catch-up fetches completed with a result, and the payload bytes they returned. */
    private final java.util.concurrent.atomic.LongAdder fetchesReturned = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder bytesReturned = new java.util.concurrent.atomic.LongAdder();
    private final Executor readExecutor;
    /** Runs the BlockCache's completions and read-ahead; never blocked by fetches. */
    private final java.util.concurrent.ExecutorService cacheExecutor;
    /** objectId -> committed object, learnt from the metadata range index. */
    private final ConcurrentHashMap<Long, ObjectMetadata> objects = new ConcurrentHashMap<>();
    /** Catch-up fetches started and not finished; compaction yields to them ({@link #awaitNoFetches}). */
    private final java.util.concurrent.atomic.AtomicInteger fetchesInFlight = new java.util.concurrent.atomic.AtomicInteger();
    private final WaitSignal fetchesIdle = new WaitSignal();
    /** Fetch futures handed out and not completed yet; close fails them. */
    private final java.util.Set<CompletableFuture<FetchResult>> pending = ConcurrentHashMap.newKeySet();
    /** Fetches running on a read thread (not queued); close waits for them to leave the cache. */
    private final java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean closed;
    /** Longest wait at close for running fetches to notice it (they wake at once; a guard against a stuck thread). */
    private static final long CLOSE_WAIT_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
    /** LRU of open readers by objectId; guarded by itself. */
    @GuardedBy("readers")
    private final Map<Long, CompletableFuture<ObjectReader>> readers = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, CompletableFuture<ObjectReader>> eldest) {
            return size() > MAX_CACHED_READERS;
        }
    };

    /**
     * @param keyring turns stored batches into the appended bytes (decrypts encrypted ones); a fetch
     *     of data whose key is unavailable fails with {@link dev.strata.api.KeyUnavailableException}
     * @param cacheThreads makes the block cache's two threads (load completions, read-ahead)
     */
    public ObjectReadPath(ObjectStorage storage, MetadataStore metadata, long blockCacheBytes, long maxInFlightReadBytes,
            Executor readExecutor, TenantKeyring keyring, ThreadFactory cacheThreads) {
        this.keyring = keyring;
        this.storage = storage;
        this.metadata = metadata;
        this.readExecutor = readExecutor;
        // The cache's own work (load completions, read-ahead) gets its own threads: fetches block the
        // read executor's threads on cache reads, so sharing them would deadlock once every read
        // thread waits for a load that needs a read thread to complete (found by MemoryUnderLoadTest).
        this.cacheExecutor = java.util.concurrent.Executors.newFixedThreadPool(2, cacheThreads);
        this.blockCache = BlockCache.builder(new Loader())
                .locator(new Locator())
                .capacityBytes(blockCacheBytes)
                .maxInFlightBytes(maxInFlightReadBytes)
                .executor(cacheExecutor)
                .build();
    }

    /**
     * Reads batches of {@code streamId} from {@code start}, at most up to {@code end}, from objects.
     * The future completes on a read thread, or fails with {@link StreamClosedException} once
     * {@link #close()} started.
     */
    public CompletableFuture<FetchResult> fetch(long streamId, long start, long end, int maxBytes) {
        CompletableFuture<FetchResult> result = new CompletableFuture<>();
        pending.add(result);
        fetchesInFlight.incrementAndGet(); // counted from the call: a fetch queued for a read thread is waiting too
        if (closed) { // checked after registering: close either sees this fetch or it sees closed
            finish(result, null, closedException(streamId, start, null));
            return result;
        }
        try {
            readExecutor.execute(() -> run(result, streamId, start, end, maxBytes));
        } catch (RuntimeException rejected) {
            finish(result, null, closed ? closedException(streamId, start, rejected)
                    : new StorageException("the read executor refused a catch-up read: streamId=" + streamId
                            + " offset=" + start, true, rejected));
        }
        return result;
    }

    private void run(CompletableFuture<FetchResult> result, long streamId, long start, long end, int maxBytes) {
        running.incrementAndGet();
        FetchResult out = null;
        Throwable failure = null;
        try {
            if (!result.isDone()) { // failed by close while queued: nothing to read
                out = fetchBlocking(result, streamId, start, end, maxBytes);
            }
        } catch (Throwable t) {
            Throwable cause = Futures.unwrap(t);
            failure = closed ? closedException(streamId, start, cause) : cause;
        } finally {
            running.decrementAndGet();
            finish(result, out, failure);
        }
    }

    /** Completes a fetch (a result nobody can take any more is released) and counts it done. */
    private void finish(CompletableFuture<FetchResult> result, FetchResult out, Throwable failure) {
        try {
            if (out != null) {
                countReturned(out);
                if (!result.complete(out)) {
                    out.close(); // failed by close meanwhile: nobody will read it
                }
            } else if (failure != null) {
                result.completeExceptionally(failure);
            }
        } finally {
            pending.remove(result);
            fetchDone();
        }
    }

    /** Counts a catch-up fetch and the payload bytes it returns. */
    private void countReturned(FetchResult out) {
        long bytes = 0;
        for (dev.strata.api.FetchedBatch b : out.batches()) {
            bytes += b.sizeBytes(); // not payload(): that makes a view per batch
        }
        fetchesReturned.increment();
        bytesReturned.add(bytes);
    }

    /** Catch-up read counters since the store opened (see {@link dev.strata.core.ReadStats}). Thread-safe. */
    public dev.strata.core.ReadStats stats() {
        dev.strata.cache.BlockCacheStats cache = blockCache.stats();
        return new dev.strata.core.ReadStats(fetchesReturned.sum(), bytesReturned.sum(), cache.loadedBytes(),
                cache.hits(), cache.misses());
    }

    private static StreamClosedException closedException(long streamId, long offset, Throwable cause) {
        return new StreamClosedException("store closed during a catch-up read: streamId=" + streamId + " offset="
                + offset, cause);
    }

    /**
     * Waits for {@code f} or for the fetch's own future to be completed by someone else (close),
     * whichever comes first. In the second case, throws {@link StreamClosedException} and hands
     * whatever {@code f} later yields to {@code abandon} (to release it).
     */
    private static <T> T await(CompletableFuture<T> f, CompletableFuture<FetchResult> fetch,
            java.util.function.Consumer<T> abandon) {
        if (!f.isDone()) {
            CompletableFuture.anyOf(f, fetch).handle((v, e) -> null).join();
        }
        if (fetch.isDone()) {
            f.thenAccept(abandon);
            throw new StreamClosedException("fetch completed by close while it waited for object storage");
        }
        return f.join();
    }

    private void fetchDone() {
        if (fetchesInFlight.decrementAndGet() == 0 || closed) {
            fetchesIdle.signalAll();
        }
    }

    /**
     * Waits until no catch-up fetch is in flight, at most {@code maxNanos}: background work
     * (compaction) calls it before each read so that user reads go first. Returns whether it had to
     * wait.
     */
    public boolean awaitNoFetches(long maxNanos) {
        if (fetchesInFlight.get() == 0) {
            return false;
        }
        fetchesIdle.await(() -> fetchesInFlight.get() == 0, maxNanos);
        return true;
    }

    private FetchResult fetchBlocking(CompletableFuture<FetchResult> fetch, long streamId, long start, long end,
            int maxBytes) {
        List<Map.Entry<StreamRange, ObjectMetadata>> covering = metadata.objectsCovering(streamId, start, end);
        if (covering.isEmpty()) {
            throw new StorageException("offset neither in the log cache nor in committed objects (raced with an "
                    + "upload; retry): streamId=" + streamId + " offset=" + start, true);
        }
        List<ByteBuf> held = new ArrayList<>();
        List<FetchedBatch> out = new ArrayList<>();
        long encryptedFrom = keyring.encryptedFrom(streamId);
        boolean done = false;
        try {
            long cursor = start;
            long bytes = 0;
            for (Map.Entry<StreamRange, ObjectMetadata> entry : covering) {
                ObjectMetadata object = entry.getValue();
                long objectId = ObjectKeys.parseObjectId(object.key());
                objects.putIfAbsent(objectId, object);
                ObjectReader reader = await(reader(objectId), fetch, r -> { });
                ObjectIndex index = reader.index();
                int block = index.findBlock(streamId, cursor);
                while (block >= 0 && block < index.size() && !done) {
                    IndexEntry e = index.entry(block);
                    if (e.streamId() != streamId || e.startOffset() >= end) {
                        break;
                    }
                    ByteBuf content = await(blockCache.read(streamId, new BlockRef(objectId, block, e.size())), fetch,
                            ByteBuf::release);
                    boolean used = false;
                    ByteBuf view = content.duplicate();
                    String where = "object=" + object.key() + " block=" + block;
                    try {
                        while (view.isReadable()) {
                            int at = view.readerIndex();
                            // the header is checked; the CRC is not: the cache holds only blocks whose
                            // block CRC (covering every batch) was checked at load (DataBlock.decode)
                            StreamBatch b = StreamBatchCodec.wrap(view, where, at);
                            view.skipBytes(b.sizeBytes());
                            if (b.nextOffset() <= cursor) {
                                continue;
                            }
                            if (b.baseOffset() >= end || (!out.isEmpty() && bytes + b.payloadLength() > maxBytes)) {
                                done = true;
                                break;
                            }
                            // decrypted (a heap copy) when encrypted; a failure (key destroyed, tampered) fails the fetch
                            out.add(new FetchedBatch(b.baseOffset(), b.count(), b.baseTimestamp(),
                                    keyring.plaintext(b, where, encryptedFrom)));
                            bytes += b.payloadLength();
                            cursor = b.nextOffset();
                            used = true;
                        }
                    } catch (RuntimeException | Error failure) {
                        content.release(); // not yet in held: release it here (regression: leaked on a decryption failure)
                        throw failure;
                    }
                    if (used) {
                        held.add(content);
                    } else {
                        content.release();
                    }
                    block++;
                }
                if (done || cursor >= end) {
                    break;
                }
            }
            if (out.isEmpty()) {
                throw new StorageException("committed objects do not hold the requested offset: streamId=" + streamId
                        + " offset=" + start, false);
            }
            List<ByteBuf> toRelease = List.copyOf(held);
            held.clear();
            return new PooledFetchResult(out, () -> toRelease.forEach(ByteBuf::release));
        } finally {
            held.forEach(ByteBuf::release);
        }
    }

    private CompletableFuture<ObjectReader> reader(long objectId) {
        synchronized (readers) {
            CompletableFuture<ObjectReader> r = readers.get(objectId);
            if (r == null || r.isCompletedExceptionally()) {
                ObjectMetadata object = objects.get(objectId);
                if (object == null) {
                    return CompletableFuture.failedFuture(new StorageException("unknown object id " + objectId, false));
                }
                r = ObjectReader.open(storage, object.key(), object.sizeBytes());
                readers.put(objectId, r);
            }
            return r;
        }
    }

    /** The reader of {@code objectId} if one was opened or is opening (done or not), else null; opens nothing. */
    private CompletableFuture<ObjectReader> knownReader(long objectId) {
        synchronized (readers) {
            return readers.get(objectId);
        }
    }

    /** The index of a reader that has opened, or null if {@code reader} is null, still opening, or failed. */
    private static ObjectIndex indexIfOpen(CompletableFuture<ObjectReader> reader) {
        return reader == null || !reader.isDone() || reader.isCompletedExceptionally() ? null : reader.join().index();
    }

    /** Seeds the reader cache with an index the uploader already has (saves the tail GET). */
    @Override
    public void register(ObjectMetadata object, ObjectIndex index) {
        long objectId = ObjectKeys.parseObjectId(object.key());
        objects.put(objectId, object);
        synchronized (readers) {
            readers.put(objectId, CompletableFuture.completedFuture(ObjectReader.of(storage, object.key(), object.sizeBytes(), index)));
        }
    }

    /**
     * The BlockCache's loader: one ranged read of adjacent blocks, each block decoded and checked on
     * its own, so a damaged block fails only its own readers (never those of intact blocks read in
     * the same ranged GET). Ownership of the decoded buffers passes to the cache.
     */
    private final class Loader implements BlockLoader {
        @Override
        public CompletableFuture<List<ByteBuf>> load(long objectId, List<BlockRef> blocks) {
            int from = blocks.get(0).blockIndex();
            int to = blocks.get(blocks.size() - 1).blockIndex() + 1;
            return reader(objectId).thenCompose(r -> r.readBlocks(from, to)).thenApply(decoded -> {
                List<ByteBuf> out = new ArrayList<>(decoded.size());
                for (DataBlock block : decoded) {
                    out.add(block.content()); // the block's one reference moves to the cache
                }
                return out;
            });
        }

        @Override
        public List<CompletableFuture<ByteBuf>> loadEach(long objectId, List<BlockRef> blocks) {
            int from = blocks.get(0).blockIndex();
            int to = blocks.get(blocks.size() - 1).blockIndex() + 1;
            List<CompletableFuture<ByteBuf>> out = new ArrayList<>(blocks.size());
            for (int i = from; i < to; i++) {
                out.add(new CompletableFuture<>());
            }
            reader(objectId).whenComplete((reader, error) -> {
                List<CompletableFuture<DataBlock>> decoded = null;
                if (error == null) {
                    try {
                        decoded = reader.readEachBlock(from, to);
                    } catch (RuntimeException e) {
                        error = e;
                    }
                }
                if (error != null) {
                    Throwable cause = Retrier.unwrap(error);
                    out.forEach(f -> f.completeExceptionally(cause));
                    return;
                }
                for (int i = 0; i < out.size(); i++) {
                    CompletableFuture<ByteBuf> target = out.get(i);
                    decoded.get(i).whenComplete((block, e) -> {
                        if (e != null) {
                            target.completeExceptionally(Retrier.unwrap(e));
                        } else {
                            target.complete(block.content()); // the block's one reference moves to the cache
                        }
                    });
                }
            });
            return out;
        }
    }

    /** Where a stream's data continues, from the object indexes: the block cache's read-ahead asks. */
    private final class Locator implements dev.strata.cache.BlockLocator {
        @Override
        public List<BlockRef> blocksAfter(long streamId, BlockRef block, long maxBytes) {
            return ObjectReadPath.this.blocksAfter(streamId, block, maxBytes);
        }

        /**
         * Whether {@code next} starts at the offset where {@code previous} ends, for the stream:
         * from the two objects' indexes alone when both are open (no metadata lookup, and never
         * opening another object, which a random reader would not use); false when either is not.
         */
        @Override
        public boolean follows(long streamId, BlockRef previous, BlockRef next) {
            IndexEntry before = openEntry(previous);
            IndexEntry after = openEntry(next);
            return before != null && after != null && before.streamId() == streamId && after.streamId() == streamId
                    && after.startOffset() == before.endOffset();
        }

        private IndexEntry openEntry(BlockRef block) {
            ObjectIndex index = indexIfOpen(knownReader(block.objectId()));
            return index != null && block.blockIndex() < index.size() ? index.entry(block.blockIndex()) : null;
        }
    }

    /** BlockLocator: the stream's next blocks after {@code block}, in this object and the next ones whose index is known. */
    private List<BlockRef> blocksAfter(long streamId, BlockRef block, long maxBytes) {
        List<BlockRef> out = new ArrayList<>();
        long bytes = 0;
        long objectId = block.objectId();
        int next = block.blockIndex() + 1;
        long lastEnd = -1;
        for (int hops = 0; hops < 4 && bytes < maxBytes; hops++) {
            CompletableFuture<ObjectReader> f = knownReader(objectId);
            ObjectIndex index = indexIfOpen(f);
            if (index == null) {
                if (f == null && objects.containsKey(objectId)) {
                    resumeWhenOpen(streamId, reader(objectId)); // open it in the background
                } else if (f != null && !f.isDone()) {
                    resumeWhenOpen(streamId, f);
                }
                return out;
            }
            if (hops == 0 && next - 1 < index.size()) {
                lastEnd = index.entry(next - 1).endOffset(); // end of the block just read
            }
            while (next < index.size() && bytes < maxBytes) {
                IndexEntry e = index.entry(next);
                if (e.streamId() != streamId) {
                    break;
                }
                out.add(new BlockRef(objectId, next, e.size()));
                bytes += e.size();
                lastEnd = e.endOffset();
                next++;
            }
            if (bytes >= maxBytes || lastEnd < 0) {
                return out;
            }
            List<Map.Entry<StreamRange, ObjectMetadata>> following = metadata.objectsCovering(streamId, lastEnd, lastEnd + 1);
            if (following.isEmpty()) {
                return out;
            }
            ObjectMetadata nextObject = following.get(0).getValue();
            objectId = ObjectKeys.parseObjectId(nextObject.key());
            objects.putIfAbsent(objectId, nextObject);
            f = knownReader(objectId);
            if (f == null) {
                resumeWhenOpen(streamId, reader(objectId));
                return out;
            }
            if (!f.isDone()) {
                resumeWhenOpen(streamId, f);
                return out;
            }
            if (f.isCompletedExceptionally()) {
                return out;
            }
            next = f.join().index().findBlock(streamId, lastEnd);
            if (next < 0) {
                return out;
            }
        }
        return out;
    }

    /**
     * Once {@code opening} (the index of the object a stream continues in) is open, lets the block
     * cache plan the stream's read-ahead on into that object (on the cache's threads, never the
     * storage's), so read-ahead does not wait for the reader's next read to cross the boundary.
     * Nothing happens if the open fails: the reader's own read reports it.
     */
    private void resumeWhenOpen(long streamId, CompletableFuture<ObjectReader> opening) {
        try {
            opening.thenRunAsync(() -> blockCache.resumeReadAhead(streamId), cacheExecutor)
                    .exceptionally(e -> null); // a failed open, or the executor shut down at close: no read-ahead
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // already open and the cache's threads are gone (closing): nothing to read ahead for
        }
    }

    /** Drops what is cached about a deleted object (its reader and index). */
    @Override
    public void forgetObject(String key) {
        long objectId = ObjectKeys.parseObjectId(key);
        objects.remove(objectId);
        synchronized (readers) {
            readers.remove(objectId);
        }
    }

    /** Drops a deleted stream's blocks from the block cache. */
    public void forgetStream(long streamId) {
        blockCache.forgetStream(streamId);
    }

    /**
     * Fails every pending fetch with {@link StreamClosedException}, waits (bounded) for running fetches
     * to leave the block cache, then closes it and its threads. Loads still in flight release their
     * buffers when they complete. Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        for (CompletableFuture<FetchResult> f : pending) {
            f.completeExceptionally(new StreamClosedException("store closed while a catch-up read was in flight"));
        }
        if (!fetchesIdle.await(() -> running.get() == 0, CLOSE_WAIT_NANOS)) {
            LOG.warn("closing with {} catch-up reads still running after {} ms", running.get(),
                    java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(CLOSE_WAIT_NANOS));
        }
        blockCache.close();
        cacheExecutor.shutdown();
    }
}
