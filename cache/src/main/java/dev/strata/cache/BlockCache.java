package dev.strata.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.strata.api.BackpressureException;
import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decoded object data blocks for catch-up readers: a Caffeine cache keyed by (object, block),
 * weighed by bytes, with single-flight loads, per-stream read-ahead and a global in-flight read
 * budget.
 *
 * <h2>Use</h2>
 * {@code read(streamId, block)} completes with a retained duplicate of the block's buffer; the
 * caller must release it. Reads are identified by stream so read-ahead can see sequential access.
 *
 * <h2>Thread-safety</h2>
 * All methods are thread-safe. Completion of loads runs on the injected executor; a read that hits
 * completes on the calling thread.
 *
 * <h2>Failures</h2>
 * A read's future fails with the loader's exception, with {@link BackpressureException} (retriable)
 * when the in-flight read budget and its bounded wait queue are full, or with
 * {@link IllegalStateException} after {@link #close()}.
 */
public final class BlockCache implements AutoCloseable {
    /*
     * Design
     *
     * Structure: Caffeine Cache<BlockKey, CachedBlock> with maximumWeight = capacity and a weigher
     * of the buffer's bytes. The cache owns one claim on each CachedBlock; the removal listener
     * (eviction, expiry, invalidation, replacement) drops it. Readers take their own Netty reference
     * through CachedBlock.retainedDuplicate, which refuses a block whose claims already reached zero,
     * so eviction never frees memory a reader holds and a reader never retains freed memory (see
     * CachedBlock). Nothing is copied.
     *
     * Single flight: `inflight` maps each block being loaded to a PendingLoad. A miss joins the
     * pending load if there is one, otherwise registers its own (putIfAbsent decides races). When a
     * load completes, each block is put in the cache and its pending future completed while the
     * completing thread holds an extra claim, so every reader registered before completion gets the
     * block even if Caffeine evicts it at once (a block larger than the cache, read-once). A reader
     * that attaches after that claim is dropped may find the block gone; it then reads again (a
     * bounded number of times).
     *
     * Read-ahead: ReadAhead decides per stream (sequential detection, adaptive window); the planned
     * blocks not cached or in flight are grouped with the demand block into runs of adjacent blocks
     * of one object, each run one loader call of at most maxLoadBytes. Prefetched entries carry a
     * time to live (Caffeine variable expiry, on the injected ticker) until their first read; an
     * entry that leaves unread is counted as prefetched-unused and shrinks that stream's window.
     * With readOnceSequential, a block read by a sequential stream is invalidated right after the
     * read (the reader's reference keeps it alive), so a catch-up scan does not flush the cache.
     *
     * Backpressure: InFlightReadBudget bounds the bytes requested from the loader and not yet in the
     * cache. Demand loads wait in a bounded FIFO, then fail with BackpressureException; read-ahead
     * only uses a share of the budget and never waits. Memory held by the cache is therefore at most
     * capacity + in-flight budget (Caffeine enforces the weight in its maintenance, which runs on the
     * executor right after a write), plus what readers still hold after eviction.
     *
     * Concurrency: no lock on the read path except Caffeine's and a per-stream monitor in ReadAhead.
     * `lifecycle` makes close() exclusive with inserting loaded blocks, so nothing is put into a
     * closed cache (which would leak).
     */

    private static final Logger LOG = LoggerFactory.getLogger(BlockCache.class);

    /** Default capacity: 512 MiB of decoded blocks. */
    public static final long DEFAULT_CAPACITY_BYTES = 512L << 20;
    /** Default in-flight read budget: 64 MiB, two full read-ahead windows. */
    public static final long DEFAULT_MAX_IN_FLIGHT_BYTES = 64L << 20;
    /** Default share of the in-flight budget read-ahead may use: 3/4, leaving room for demand reads. */
    public static final double DEFAULT_PREFETCH_BUDGET_FRACTION = 0.75;
    /** Default bound of demand loads waiting for budget; beyond it reads fail with BackpressureException. */
    public static final int DEFAULT_MAX_WAITING_LOADS = 1024;
    /** Default first read-ahead window: 512 KiB, half a typical 1 MiB block. */
    public static final long DEFAULT_INITIAL_WINDOW_BYTES = 512L << 10;
    /** Default largest read-ahead window: 32 MiB, enough to hide ~100 ms of latency at ~300 MB/s. */
    public static final long DEFAULT_MAX_WINDOW_BYTES = 32L << 20;
    /** Default number of sequential reads in a row before read-ahead starts. */
    public static final int DEFAULT_SEQUENTIAL_THRESHOLD = 2;
    /** Default largest single load (coalesced run): 8 MiB, a ranged GET that still returns quickly. */
    public static final long DEFAULT_MAX_LOAD_BYTES = 8L << 20;
    /** Default time prefetched data stays unread before it expires: 30 s. */
    public static final Duration DEFAULT_PREFETCH_TTL = Duration.ofSeconds(30);
    /** Default number of streams whose read pattern is tracked. */
    public static final long DEFAULT_MAX_TRACKED_STREAMS = 10_000;
    /** Reads of a block that vanished between its load and the reader attaching, before giving up. */
    private static final int MAX_READ_ATTEMPTS = 8;

    private final BlockLoader loader;
    private final Executor executor;
    /** Largest coalesced run: maxLoadBytes, capped by read-ahead's share of the in-flight budget. */
    private final long maxLoadBytes;
    private final boolean readOnceSequential;
    private final Cache<BlockKey, CachedBlock> cache;
    private final ConcurrentHashMap<BlockKey, PendingLoad> inflight = new ConcurrentHashMap<>();
    private final InFlightReadBudget budget;
    private final ReadAhead readAhead;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    // guarded by lifecycle (written under the write lock)
    private volatile boolean closed;

    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder evictions = new LongAdder();
    private final LongAdder evictedBytes = new LongAdder();
    private final LongAdder loads = new LongAdder();
    private final LongAdder loadedBlocks = new LongAdder();
    private final LongAdder loadedBytes = new LongAdder();
    private final LongAdder prefetchedBytes = new LongAdder();
    private final LongAdder prefetchedUnusedBytes = new LongAdder();
    private final LongAdder rejectedReads = new LongAdder();
    private final LongAdder skippedPrefetches = new LongAdder();

    /** A block being loaded, with the future its readers wait on. */
    private record PendingLoad(BlockRef ref, boolean prefetch, long streamId, CompletableFuture<CachedBlock> future) {
    }

    private BlockCache(Builder b) {
        this.loader = b.loader;
        this.executor = b.executor;
        // A run larger than read-ahead's share of the budget could never be prefetched.
        this.maxLoadBytes = Math.max(1, Math.min(b.maxLoadBytes, (long) (b.maxInFlightBytes * b.prefetchBudgetFraction)));
        this.readOnceSequential = b.readOnceSequential;
        long ttlNanos = b.prefetchTtl.toNanos();
        this.cache = Caffeine.newBuilder()
                .maximumWeight(b.capacityBytes)
                .weigher((BlockKey k, CachedBlock v) -> v.sizeBytes)
                .expireAfter(new PrefetchExpiry(ttlNanos))
                .ticker(b.ticker)
                .executor(b.executor)
                .removalListener((BlockKey k, CachedBlock v, RemovalCause cause) -> onRemoval(v, cause))
                .build();
        this.budget = new InFlightReadBudget(b.maxInFlightBytes,
                (long) (b.maxInFlightBytes * b.prefetchBudgetFraction), b.maxWaitingLoads);
        // A window larger than read-ahead's share of the in-flight budget could never be loaded.
        long maxWindow = Math.max(1, Math.min(b.maxWindowBytes, (long) (b.maxInFlightBytes * b.prefetchBudgetFraction)));
        this.readAhead = new ReadAhead(b.locator, Math.min(b.initialWindowBytes, maxWindow), maxWindow,
                b.sequentialThreshold, b.maxTrackedStreams, b.executor);
    }

    /**
     * A builder.
     *
     * @param loader loads blocks on a miss and for read-ahead
     * @throws IllegalArgumentException if {@code loader} is null
     */
    public static Builder builder(BlockLoader loader) {
        if (loader == null) {
            throw new IllegalArgumentException("loader must not be null");
        }
        return new Builder(loader);
    }

    /**
     * Reads a block for a stream. Completes with a retained duplicate of the block's buffer, which the
     * caller must release (also when it no longer needs the result after completion).
     *
     * @param streamId the reading stream, for read-ahead
     * @param block the block
     * @return the block's bytes; fails with the loader's exception, {@link BackpressureException} or
     *     {@link IllegalStateException} if closed
     * @throws IllegalArgumentException if {@code block} is null
     */
    public CompletableFuture<ByteBuf> read(long streamId, BlockRef block) {
        if (block == null) {
            throw new IllegalArgumentException("block must not be null");
        }
        return read(streamId, block, 1);
    }

    private CompletableFuture<ByteBuf> read(long streamId, BlockRef ref, int attempt) {
        if (closed) {
            return CompletableFuture.failedFuture(new IllegalStateException("BlockCache is closed"));
        }
        BlockKey key = ref.key();
        CachedBlock cached = cache.getIfPresent(key);
        if (cached != null) {
            ByteBuf buf = cached.retainedDuplicate();
            if (buf != null) {
                hits.increment();
                try {
                    boolean paidOff = cached.markRead();
                    if (attempt == 1) {
                        prefetch(streamId, readAhead.onRead(streamId, ref, paidOff));
                    }
                    readOnce(streamId, key, cached);
                } catch (RuntimeException e) {
                    buf.release();
                    return CompletableFuture.failedFuture(e);
                }
                return CompletableFuture.completedFuture(buf);
            }
        }
        if (attempt == 1) {
            misses.increment();
        }
        PendingLoad pending = inflight.get(key);
        if (pending != null) {
            if (attempt == 1) {
                prefetch(streamId, readAhead.onRead(streamId, ref, pending.prefetch()));
            }
            return join(streamId, ref, pending, attempt);
        }
        List<BlockRef> plan = attempt == 1 ? readAhead.onRead(streamId, ref, false) : List.of();
        PendingLoad mine = new PendingLoad(ref, false, streamId, new CompletableFuture<>());
        PendingLoad raced = inflight.putIfAbsent(key, mine);
        if (raced != null) {
            prefetch(streamId, plan);
            return join(streamId, ref, raced, attempt);
        }
        // Attach before the load starts: the load may complete on this thread.
        CompletableFuture<ByteBuf> result = mine.future().thenApply(block -> {
            ByteBuf buf = block.retainedDuplicate(); // cannot be null: the completer holds a claim
            block.markRead();
            readOnce(streamId, key, block);
            return buf;
        });
        List<PendingLoad> run = new ArrayList<>();
        run.add(mine);
        List<List<PendingLoad>> prefetchRuns = registerRuns(streamId, plan, run);
        startDemand(run);
        startPrefetches(streamId, prefetchRuns);
        return result;
    }

    private CompletableFuture<ByteBuf> join(long streamId, BlockRef ref, PendingLoad pending, int attempt) {
        return pending.future().handle((block, error) -> {
            if (error == null) {
                ByteBuf buf = block.retainedDuplicate();
                if (buf != null) {
                    block.markRead();
                    readOnce(streamId, ref.key(), block);
                    return CompletableFuture.completedFuture(buf);
                }
            } else if (!(error instanceof CancellationException)) {
                return CompletableFuture.<ByteBuf>failedFuture(unwrap(error));
            }
            // Evicted before this reader attached, or a read-ahead load that was called off: read again.
            if (attempt >= MAX_READ_ATTEMPTS) {
                return CompletableFuture.<ByteBuf>failedFuture(new BackpressureException(
                        "block evicted before it could be read: objectId=" + ref.objectId() + " blockIndex="
                                + ref.blockIndex() + " attempts=" + attempt));
            }
            return read(streamId, ref, attempt + 1);
        }).thenCompose(f -> f);
    }

    /** Starts loads for planned read-ahead blocks that are neither cached nor in flight. */
    private void prefetch(long streamId, List<BlockRef> plan) {
        if (!plan.isEmpty()) {
            startPrefetches(streamId, registerRuns(streamId, plan, null));
        }
    }

    /**
     * Registers the planned blocks as pending prefetches and groups them into runs of adjacent
     * blocks. If {@code demandRun} is given, blocks adjacent to its (single) demand block join it.
     */
    private List<List<PendingLoad>> registerRuns(long streamId, List<BlockRef> plan, List<PendingLoad> demandRun) {
        List<List<PendingLoad>> runs = new ArrayList<>();
        List<PendingLoad> current = demandRun;
        long currentBytes = demandRun == null ? 0 : demandRun.get(0).ref().sizeBytes();
        for (BlockRef ref : plan) {
            BlockKey key = ref.key();
            if (cache.policy().getIfPresentQuietly(key) != null || inflight.containsKey(key)) {
                current = null; // a gap: the next block starts a new run
                continue;
            }
            PendingLoad p = new PendingLoad(ref, true, streamId, new CompletableFuture<>());
            if (inflight.putIfAbsent(key, p) != null) {
                current = null;
                continue;
            }
            BlockRef previous = current == null ? null : current.get(current.size() - 1).ref();
            if (previous == null || !previous.isFollowedBy(ref) || currentBytes + ref.sizeBytes() > maxLoadBytes) {
                current = new ArrayList<>();
                currentBytes = 0;
                runs.add(current);
            }
            current.add(p);
            currentBytes += ref.sizeBytes();
        }
        return runs;
    }

    private void startDemand(List<PendingLoad> run) {
        long bytes = bytesOf(run);
        boolean now;
        try {
            now = budget.acquireOrWait(bytes, () -> load(run, bytes));
        } catch (BackpressureException e) {
            rejectedReads.increment();
            fail(run, e);
            return;
        }
        if (now) {
            load(run, bytes);
        }
    }

    private void startPrefetches(long streamId, List<List<PendingLoad>> runs) {
        for (int i = 0; i < runs.size(); i++) {
            List<PendingLoad> run = runs.get(i);
            long bytes = bytesOf(run);
            if (budget.tryAcquirePrefetch(bytes)) {
                load(run, bytes);
                continue;
            }
            // Memory is tight: drop this and the later runs, and shrink the window.
            List<BlockRef> skipped = new ArrayList<>();
            for (int j = i; j < runs.size(); j++) {
                skippedPrefetches.increment();
                for (PendingLoad p : runs.get(j)) {
                    inflight.remove(p.ref().key(), p);
                    p.future().cancel(false);
                    skipped.add(p.ref());
                }
            }
            readAhead.notLoaded(streamId, skipped);
            return;
        }
    }

    private void load(List<PendingLoad> run, long bytes) {
        List<BlockRef> refs = new ArrayList<>(run.size());
        for (PendingLoad p : run) {
            refs.add(p.ref());
        }
        loads.increment();
        CompletableFuture<List<ByteBuf>> f;
        try {
            f = loader.load(refs.get(0).objectId(), List.copyOf(refs));
            if (f == null) {
                f = CompletableFuture.failedFuture(new IllegalStateException("BlockLoader returned null"));
            }
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        f.whenCompleteAsync((bufs, error) -> completeLoad(run, bytes, bufs, error), executor);
    }

    private void completeLoad(List<PendingLoad> run, long bytes, List<ByteBuf> bufs, Throwable error) {
        try {
            if (error == null && (bufs == null || bufs.size() != run.size())) {
                releaseAll(bufs);
                error = new IllegalStateException("BlockLoader returned " + (bufs == null ? "null" : bufs.size())
                        + " buffers for " + run.size() + " blocks: objectId=" + run.get(0).ref().objectId());
            }
            if (error != null) {
                Throwable cause = unwrap(error);
                LOG.debug("block load failed: objectId={} firstBlock={} blocks={}", run.get(0).ref().objectId(),
                        run.get(0).ref().blockIndex(), run.size(), cause);
                fail(run, cause);
                return;
            }
            for (int i = 0; i < run.size(); i++) {
                insertLoaded(run.get(i), bufs.get(i));
            }
        } finally {
            budget.release(bytes);
        }
    }

    private void insertLoaded(PendingLoad p, ByteBuf buf) {
        BlockKey key = p.ref().key();
        CachedBlock block = new CachedBlock(buf, p.prefetch(), p.streamId());
        loadedBlocks.increment();
        loadedBytes.add(block.sizeBytes);
        if (p.prefetch()) {
            prefetchedBytes.add(block.sizeBytes);
        }
        lifecycle.readLock().lock();
        try {
            if (closed) {
                inflight.remove(key, p);
                p.future().completeExceptionally(new IllegalStateException("BlockCache is closed"));
                block.release();
                return;
            }
            block.retain(); // the completer's claim, held while the waiting readers take theirs
            cache.put(key, block);
        } finally {
            lifecycle.readLock().unlock();
        }
        inflight.remove(key, p);
        try {
            p.future().complete(block);
        } finally {
            block.release();
        }
    }

    private void fail(List<PendingLoad> run, Throwable cause) {
        for (PendingLoad p : run) {
            inflight.remove(p.ref().key(), p);
            p.future().completeExceptionally(cause);
        }
    }

    private void readOnce(long streamId, BlockKey key, CachedBlock block) {
        if (readOnceSequential && readAhead.isSequential(streamId)) {
            cache.asMap().remove(key, block);
        }
    }

    private void onRemoval(CachedBlock block, RemovalCause cause) {
        if (block == null) {
            return;
        }
        if (cause.wasEvicted()) {
            evictions.increment();
            evictedBytes.add(block.sizeBytes);
        }
        if (block.prefetched && !block.wasRead()) {
            prefetchedUnusedBytes.add(block.sizeBytes);
            readAhead.unusedPrefetch(block.streamId);
        }
        block.release();
    }

    /** Drops every cached block of an object (deleted by compaction). Readers keep what they hold. */
    public void invalidateObject(long objectId) {
        cache.asMap().keySet().removeIf(k -> k.objectId() == objectId);
    }

    /** Forgets the read pattern of a stream (closed or deleted). */
    public void forgetStream(long streamId) {
        readAhead.forget(streamId);
    }

    /**
     * Runs pending Caffeine maintenance (eviction, expiry) now, on the calling thread. Tests use it
     * with a fake ticker; production relies on the maintenance Caffeine schedules itself.
     */
    public void cleanUp() {
        cache.cleanUp();
    }

    /** The read-ahead window of a stream in bytes, 0 when it does not read sequentially. */
    public long readAheadWindowBytes(long streamId) {
        return readAhead.windowBytes(streamId);
    }

    /** A snapshot of the counters. */
    public BlockCacheStats stats() {
        long weighted = cache.policy().eviction().map(e -> e.weightedSize().orElse(0)).orElse(0L);
        return new BlockCacheStats(hits.sum(), misses.sum(), weighted, cache.estimatedSize(), evictions.sum(),
                evictedBytes.sum(), loads.sum(), loadedBlocks.sum(), loadedBytes.sum(), prefetchedBytes.sum(),
                prefetchedUnusedBytes.sum(), budget.inFlightBytes(), rejectedReads.sum(), skippedPrefetches.sum());
    }

    /**
     * Drops every cached block (readers keep what they hold) and refuses later reads. Loads still in
     * flight release their buffers when they complete. Idempotent.
     */
    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            lifecycle.writeLock().unlock();
        }
        cache.invalidateAll();
        cache.cleanUp();
    }

    private static long bytesOf(List<PendingLoad> run) {
        long sum = 0;
        for (PendingLoad p : run) {
            sum += p.ref().sizeBytes();
        }
        return sum;
    }

    private static Throwable unwrap(Throwable error) {
        return error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    }

    private static void releaseAll(List<ByteBuf> bufs) {
        if (bufs != null) {
            for (ByteBuf b : bufs) {
                if (b != null) {
                    b.release();
                }
            }
        }
    }

    /** Prefetched blocks expire after a TTL until first read; everything else only leaves by size. */
    private static final class PrefetchExpiry implements Expiry<BlockKey, CachedBlock> {
        private final long ttlNanos;

        PrefetchExpiry(long ttlNanos) {
            this.ttlNanos = ttlNanos;
        }

        @Override
        public long expireAfterCreate(BlockKey key, CachedBlock value, long currentTime) {
            return value.prefetched && !value.wasRead() ? ttlNanos : Long.MAX_VALUE;
        }

        @Override
        public long expireAfterUpdate(BlockKey key, CachedBlock value, long currentTime, long currentDuration) {
            return expireAfterCreate(key, value, currentTime);
        }

        @Override
        public long expireAfterRead(BlockKey key, CachedBlock value, long currentTime, long currentDuration) {
            return Long.MAX_VALUE; // read once: it paid off, keep it like any other block
        }
    }

    /**
     * Validating builder; each setter checks its argument when called.
     */
    public static final class Builder {
        private final BlockLoader loader;
        private BlockLocator locator;
        private long capacityBytes = DEFAULT_CAPACITY_BYTES;
        private long maxInFlightBytes = DEFAULT_MAX_IN_FLIGHT_BYTES;
        private double prefetchBudgetFraction = DEFAULT_PREFETCH_BUDGET_FRACTION;
        private int maxWaitingLoads = DEFAULT_MAX_WAITING_LOADS;
        private long initialWindowBytes = DEFAULT_INITIAL_WINDOW_BYTES;
        private long maxWindowBytes = DEFAULT_MAX_WINDOW_BYTES;
        private int sequentialThreshold = DEFAULT_SEQUENTIAL_THRESHOLD;
        private long maxLoadBytes = DEFAULT_MAX_LOAD_BYTES;
        private Duration prefetchTtl = DEFAULT_PREFETCH_TTL;
        private long maxTrackedStreams = DEFAULT_MAX_TRACKED_STREAMS;
        private boolean readOnceSequential;
        private Executor executor;
        private Ticker ticker = Ticker.systemTicker();

        private Builder(BlockLoader loader) {
            this.loader = loader;
        }

        /** Enables read-ahead: where a stream's data continues. Without a locator there is no read-ahead. */
        public Builder locator(BlockLocator locator) {
            this.locator = locator;
            return this;
        }

        /** Byte limit of cached blocks. @throws IllegalArgumentException if {@code bytes < 1} */
        public Builder capacityBytes(long bytes) {
            requirePositive("capacityBytes", bytes);
            this.capacityBytes = bytes;
            return this;
        }

        /** Budget of bytes being loaded at once. @throws IllegalArgumentException if {@code bytes < 1} */
        public Builder maxInFlightBytes(long bytes) {
            requirePositive("maxInFlightBytes", bytes);
            this.maxInFlightBytes = bytes;
            return this;
        }

        /**
         * Share of the in-flight budget read-ahead may use.
         *
         * @throws IllegalArgumentException unless {@code 0 <= fraction <= 1}
         */
        public Builder prefetchBudgetFraction(double fraction) {
            if (!(fraction >= 0 && fraction <= 1)) {
                throw new IllegalArgumentException("prefetchBudgetFraction must be in [0, 1], got " + fraction);
            }
            this.prefetchBudgetFraction = fraction;
            return this;
        }

        /** Demand loads that may wait for budget. @throws IllegalArgumentException if {@code n < 0} */
        public Builder maxWaitingLoads(int n) {
            if (n < 0) {
                throw new IllegalArgumentException("maxWaitingLoads must be >= 0, got " + n);
            }
            this.maxWaitingLoads = n;
            return this;
        }

        /** First read-ahead window. @throws IllegalArgumentException if {@code bytes < 1} */
        public Builder initialWindowBytes(long bytes) {
            requirePositive("initialWindowBytes", bytes);
            this.initialWindowBytes = bytes;
            return this;
        }

        /** Largest read-ahead window. @throws IllegalArgumentException if {@code bytes < 1} */
        public Builder maxWindowBytes(long bytes) {
            requirePositive("maxWindowBytes", bytes);
            this.maxWindowBytes = bytes;
            return this;
        }

        /** Sequential reads in a row before read-ahead starts. @throws IllegalArgumentException if {@code n < 1} */
        public Builder sequentialThreshold(int n) {
            requirePositive("sequentialThreshold", n);
            this.sequentialThreshold = n;
            return this;
        }

        /** Largest coalesced load. @throws IllegalArgumentException if {@code bytes < 1} */
        public Builder maxLoadBytes(long bytes) {
            requirePositive("maxLoadBytes", bytes);
            this.maxLoadBytes = bytes;
            return this;
        }

        /** How long prefetched data may stay unread. @throws IllegalArgumentException if not positive */
        public Builder prefetchTtl(Duration ttl) {
            if (ttl == null || ttl.isNegative() || ttl.isZero()) {
                throw new IllegalArgumentException("prefetchTtl must be positive, got " + ttl);
            }
            this.prefetchTtl = ttl;
            return this;
        }

        /** Streams whose read pattern is tracked. @throws IllegalArgumentException if {@code n < 1} */
        public Builder maxTrackedStreams(long n) {
            requirePositive("maxTrackedStreams", n);
            this.maxTrackedStreams = n;
            return this;
        }

        /** Drop a block from the cache once a sequential (catch-up) stream has read it. Default false. */
        public Builder readOnceSequential(boolean enabled) {
            this.readOnceSequential = enabled;
            return this;
        }

        /**
         * Executor for Caffeine maintenance and removal, and for completing loads (moving off the
         * loader's threads). Required; tests pass {@code Runnable::run}.
         */
        public Builder executor(Executor executor) {
            if (executor == null) {
                throw new IllegalArgumentException("executor must not be null");
            }
            this.executor = executor;
            return this;
        }

        /** Time source for the prefetch TTL. Default: {@link Ticker#systemTicker()}. */
        public Builder ticker(Ticker ticker) {
            if (ticker == null) {
                throw new IllegalArgumentException("ticker must not be null");
            }
            this.ticker = ticker;
            return this;
        }

        /**
         * Builds the cache.
         *
         * @throws IllegalStateException if no executor was set
         * @throws IllegalArgumentException if {@code initialWindowBytes > maxWindowBytes}
         */
        public BlockCache build() {
            if (executor == null) {
                throw new IllegalStateException("executor must be set");
            }
            if (initialWindowBytes > maxWindowBytes) {
                throw new IllegalArgumentException("initialWindowBytes must be <= maxWindowBytes, got initialWindowBytes="
                        + initialWindowBytes + " maxWindowBytes=" + maxWindowBytes);
            }
            return new BlockCache(this);
        }

        private static void requirePositive(String name, long value) {
            if (value < 1) {
                throw new IllegalArgumentException(name + " must be >= 1, got " + value);
            }
        }
    }
}
