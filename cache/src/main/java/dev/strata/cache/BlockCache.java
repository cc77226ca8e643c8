package dev.strata.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.strata.api.BackpressureException;
import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
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
 * A read's future fails with the loader's exception for its block, with {@link BackpressureException} (retriable)
 * when the in-flight read budget stays full (its bounded wait queue is full, or the load waited longer
 * than {@code maxWait}), or with {@link IllegalStateException} after {@link #close()}. When
 * several adjacent blocks are loaded together (a demand block and its read-ahead), a block that
 * fails (e.g. it is corrupt) fails only its own readers: see {@link BlockLoader#loadEach}.
 */
public final class BlockCache implements AutoCloseable {
    /*
     * Design
     *
     * Structure: three places a block can be, each holding one claim on its CachedBlock (see there
     * for why claims exist on top of Netty's count):
     *   inflight   - BlockKey -> PendingLoad: being loaded; readers wait on its future.
     *   prefetched - BlockKey -> CachedBlock: loaded by read-ahead and not read yet, or read and
     *                its stream still reading in it (see `reading`).
     *   cache      - Caffeine Cache<BlockKey, CachedBlock>, maximumWeight = capacity, weigher = bytes;
     *                the removal listener (eviction, invalidation, replacement) drops its claim.
     * Readers take their own Netty reference through CachedBlock.retainedDuplicate, which refuses a
     * block whose claims already reached zero: eviction never frees memory a reader holds, and a
     * reader never retains freed memory. Nothing is copied.
     *
     * Why prefetched data is not put in Caffeine at once: Caffeine's W-TinyLFU admits a new entry
     * into its main space only if it is more popular than the victim, and its admission window is
     * 1% of the capacity. Blocks nobody has read yet are the least popular entries there are, so in a
     * full cache read-ahead would be evicted before the reader arrives (measured: more than half of
     * the prefetched bytes went unused in CatchUpScanBenchmark). Read-ahead blocks therefore wait in
     * `prefetched` and enter Caffeine when the stream that read them moves on to another block (not
     * at all with readOnceSequential): a reader's fetches rarely end at a block's end, so its next
     * fetch reads the rest of the block it is in, and a block put in Caffeine at its first read was
     * often rejected by the admission at once (measured: a 16 KiB replay loaded a quarter of its
     * blocks twice, each time as a demand load the reader waited for). `reading` holds, per stream,
     * the one read block it is in. Blocks in `prefetched` keep their in-flight budget bytes until
     * they leave it, so read-ahead (unread, or being read) is bounded by read-ahead's share of the
     * budget; unread blocks expire after prefetchTtl on the injected ticker (checked when read-ahead
     * inserts and in cleanUp); expired unread bytes are counted as prefetched-unused and shrink that
     * stream's window. A read block that leaves `prefetched` (its stream moved on, went idle, or its
     * budget is wanted) moves into Caffeine.
     *
     * Single flight: a miss joins the PendingLoad of its block if there is one, otherwise registers
     * its own (putIfAbsent decides races; after winning, the reader re-checks cache and prefetched,
     * which closes the gap where a load finished between its checks). When a load completes, each
     * block is published (cache or prefetched) and its future completed while the completing thread
     * holds an extra claim, so every reader attached before completion gets the block even if
     * Caffeine evicts it at once (a block larger than the cache, read-once). A reader attaching later
     * may find it gone and reads again, a bounded number of times. Outcomes are per block
     * (BlockLoader.loadEach): a run that contains a damaged block publishes its intact blocks and
     * fails only the damaged block's readers; a failed block is not cached, so the next read loads
     * it again.
     *
     * Read-ahead: ReadAhead decides per stream (sequential detection, adaptive window); the planned
     * blocks that are nowhere yet are grouped, with the demand block when adjacent, into runs of
     * adjacent blocks of one object, each run one loader call of at most maxLoadBytes.
     *
     * Backpressure and memory: InFlightReadBudget counts bytes requested from the loader and not yet
     * in Caffeine (loading, prefetched and unread, or read and its stream still in it). Demand loads wait in a bounded FIFO, with a
     * bounded wait, then fail with BackpressureException; read-ahead only uses its share of the budget
     * and never waits, and while demand loads wait, unread read-ahead is dropped to make room (so a
     * waiting load always starts once the loads in flight complete). Read-ahead refused for want of
     * budget first drops the unread read-ahead of streams idle for idleStreamTime (readers that
     * stopped), never that of streams still reading. Memory held is at most capacity + budget (Caffeine enforces the weight in its
     * maintenance, run on the executor right after a write), plus what readers still hold after
     * eviction, plus a block larger than the whole budget when it is the only load.
     *
     * Concurrency: no lock on the read path except Caffeine's and a per-stream monitor in ReadAhead.
     * `lifecycle` makes close() exclusive with publishing loaded blocks, so nothing is published into
     * a closed cache (which would leak).
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
    /** Default longest wait of a demand load for in-flight budget: 5 s, then BackpressureException. */
    public static final Duration DEFAULT_MAX_WAIT = Duration.ofSeconds(5);
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
    /**
     * Default time a stream reads nothing before its unread read-ahead may go to streams that read:
     * 200 ms. A catch-up reader that finished (or moved to another stream) otherwise held up to a
     * whole window of read-ahead's budget until the prefetch TTL, and the next stream's read-ahead
     * was refused (measured: 4,201 refused runs in one 16 KiB replay, one stream after another).
     * Long enough that a reader between two fetches keeps its read-ahead.
     */
    public static final Duration DEFAULT_IDLE_STREAM_TIME = Duration.ofMillis(200);
    /** Default number of streams whose read pattern is tracked. */
    public static final long DEFAULT_MAX_TRACKED_STREAMS = 10_000;
    /** Reads of a block that vanished between its load and the reader attaching, before giving up. */
    private static final int MAX_READ_ATTEMPTS = 8;

    private final BlockLoader loader;
    private final Executor executor;
    private final Ticker ticker;
    private final long prefetchTtlNanos;
    /** A stream that read nothing for this long gives its unread read-ahead to streams that read. */
    private final long idleStreamNanos;
    /** Largest coalesced run: maxLoadBytes, capped by read-ahead's share of the in-flight budget. */
    private final long maxLoadBytes;
    private final boolean readOnceSequential;
    private final Cache<BlockKey, CachedBlock> cache;
    private final ConcurrentHashMap<BlockKey, PendingLoad> inflight = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<BlockKey, CachedBlock> prefetched = new ConcurrentHashMap<>();
    /**
     * Per stream, the read-ahead block it read last, kept in {@link #prefetched} until the stream
     * reads another block; at most one entry per block in {@code prefetched}, so bounded by the budget.
     */
    private final ConcurrentHashMap<Long, BlockKey> reading = new ConcurrentHashMap<>();
    private final InFlightReadBudget budget;
    private final ReadAhead readAhead;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    // written under lifecycle's write lock
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
    private final LongAdder prefetchedUnreadBytes = new LongAdder();
    private final LongAdder readingBytes = new LongAdder();
    private final LongAdder rejectedReads = new LongAdder();
    private final LongAdder skippedPrefetches = new LongAdder();

    /** A block being loaded, with the future its readers wait on. */
    private record PendingLoad(BlockRef ref, boolean prefetch, long streamId, CompletableFuture<CachedBlock> future) {
    }

    private BlockCache(Builder b) {
        this.loader = b.loader;
        this.executor = inlineWhenRejected(b.executor);
        this.ticker = b.ticker;
        this.prefetchTtlNanos = b.prefetchTtl.toNanos();
        long prefetchBudget = (long) (b.maxInFlightBytes * b.prefetchBudgetFraction);
        // A run or a window larger than read-ahead's share of the budget could never be prefetched.
        this.maxLoadBytes = Math.max(1, Math.min(b.maxLoadBytes, prefetchBudget));
        long maxWindow = Math.max(1, Math.min(b.maxWindowBytes, prefetchBudget));
        this.readOnceSequential = b.readOnceSequential;
        this.cache = Caffeine.newBuilder()
                .maximumWeight(b.capacityBytes)
                .weigher((BlockKey k, CachedBlock v) -> v.sizeBytes)
                .executor(executor)
                .removalListener((BlockKey k, CachedBlock v, RemovalCause cause) -> onRemoval(v, cause))
                .build();
        this.budget = new InFlightReadBudget(b.maxInFlightBytes, prefetchBudget, b.maxWaitingLoads,
                b.maxWait.toNanos(), b.ticker);
        this.readAhead = new ReadAhead(b.locator, Math.min(b.initialWindowBytes, maxWindow), maxWindow,
                b.sequentialThreshold, b.maxTrackedStreams, executor, b.ticker);
        this.idleStreamNanos = b.idleStreamTime.toNanos();
    }

    /**
     * The executor for the cache's own work, running a task on the calling thread when {@code executor}
     * refuses it (it was shut down, as when the store closes while loads are in flight): the work
     * (maintenance, removal, completing a load) must run anyway, or buffers leak, and Caffeine would
     * log the refusal as an error before running it itself.
     */
    private static Executor inlineWhenRejected(Executor executor) {
        return task -> {
            try {
                executor.execute(task);
            } catch (java.util.concurrent.RejectedExecutionException shutDown) {
                task.run();
            }
        };
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
        BlockKey key = ref.key();
        boolean first = attempt == 1;
        for (;;) {
            if (closed) {
                return CompletableFuture.failedFuture(new IllegalStateException("BlockCache is closed"));
            }
            CachedBlock cached = cache.getIfPresent(key);
            boolean firstReadOfPrefetch = false;
            if (cached == null) {
                cached = prefetched.get(key);
                firstReadOfPrefetch = cached != null;
            }
            if (cached != null) {
                ByteBuf buf = cached.retainedDuplicate();
                if (buf != null) {
                    hits.increment();
                    try {
                        afterRead(streamId, key, cached);
                        if (first) {
                            prefetch(streamId, readAhead.onRead(streamId, ref, firstReadOfPrefetch));
                        }
                    } catch (RuntimeException e) {
                        buf.release();
                        return CompletableFuture.failedFuture(e);
                    }
                    return CompletableFuture.completedFuture(buf);
                }
            }
            PendingLoad pending = inflight.get(key);
            if (pending != null) {
                if (first) {
                    misses.increment();
                    prefetch(streamId, readAhead.onRead(streamId, ref, pending.prefetch()));
                }
                return join(streamId, ref, pending, attempt);
            }
            PendingLoad mine = new PendingLoad(ref, false, streamId, new CompletableFuture<>());
            if (inflight.putIfAbsent(key, mine) != null) {
                continue; // another reader registered first: join it
            }
            if (cache.policy().getIfPresentQuietly(key) != null || prefetched.containsKey(key)) {
                inflight.remove(key, mine); // a load finished between our checks: read what it published
                continue;
            }
            if (first) {
                misses.increment();
            }
            List<BlockRef> plan = first ? readAhead.onRead(streamId, ref, false) : List.of();
            // Attach before the load starts: the load may complete on this thread.
            CompletableFuture<ByteBuf> result = mine.future().thenApply(block -> {
                ByteBuf buf = block.retainedDuplicate(); // not null: the completer holds a claim
                afterRead(streamId, key, block);
                return buf;
            });
            List<PendingLoad> run = new ArrayList<>();
            run.add(mine);
            List<List<PendingLoad>> prefetchRuns = registerRuns(streamId, plan, run);
            startDemand(run);
            startPrefetches(streamId, prefetchRuns);
            return result;
        }
    }

    private CompletableFuture<ByteBuf> join(long streamId, BlockRef ref, PendingLoad pending, int attempt) {
        return pending.future().handle((block, error) -> {
            if (error == null) {
                ByteBuf buf = block.retainedDuplicate();
                if (buf != null) {
                    try {
                        afterRead(streamId, ref.key(), block);
                    } catch (RuntimeException e) {
                        buf.release();
                        throw e;
                    }
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

    /**
     * After a reader got its buffer. A prefetched block stays in {@code prefetched} as the block the
     * stream reads in (its first read makes it read); the block the stream read before, if another,
     * moves into Caffeine and gives back its budget. With read-once, a sequential reader's blocks
     * leave the cache instead of entering Caffeine.
     */
    private void afterRead(long streamId, BlockKey key, CachedBlock block) {
        boolean once = readOnceSequential && readAhead.isSequential(streamId);
        BlockKey before;
        if (block.prefetched && prefetched.get(key) == block) {
            if (block.markRead()) {
                prefetchedUnreadBytes.add(-block.sizeBytes);
                readingBytes.add(block.sizeBytes);
            }
            before = reading.put(streamId, key);
        } else {
            before = reading.remove(streamId);
            if (once) {
                cache.asMap().remove(key, block);
            }
        }
        if (before != null && !before.equals(key)) {
            CachedBlock previous = prefetched.get(before);
            if (previous != null && previous.isRead()) {
                removePrefetched(before, previous, !once);
            }
        }
    }

    /**
     * Removes a block from {@code prefetched} and gives back its budget; does nothing if it already
     * left. A read block moves into Caffeine when {@code keepIfRead} (it was used, and may be read
     * again); an unread one is counted as unused read-ahead and shrinks its stream's window.
     */
    private void removePrefetched(BlockKey key, CachedBlock block, boolean keepIfRead) {
        if (prefetched.remove(key, block)) {
            reading.remove(block.streamId, key);
            left(key, block, keepIfRead);
        }
    }

    /** Accounts for a block that left {@code prefetched} (see {@link #removePrefetched}) and drops its claim. */
    private void left(BlockKey key, CachedBlock block, boolean keepIfRead) {
        int was = block.leave();
        if (was == CachedBlock.READ) {
            readingBytes.add(-block.sizeBytes);
            if (keepIfRead && block.tryRetain()) {
                publishToCache(key, block);
            }
        } else if (was == CachedBlock.UNREAD) {
            prefetchedUnreadBytes.add(-block.sizeBytes);
            prefetchedUnusedBytes.add(block.sizeBytes);
            readAhead.unusedPrefetch(block.streamId);
        } else {
            return; // already accounted for (cannot happen: removal from the map is exclusive)
        }
        block.release();
        budget.release(block.budgetBytes);
    }

    /** Puts a block in Caffeine with a claim the caller already took for it. */
    private void publishToCache(BlockKey key, CachedBlock block) {
        lifecycle.readLock().lock();
        try {
            if (closed || cache.asMap().putIfAbsent(key, block) != null) {
                block.release();
            }
        } finally {
            lifecycle.readLock().unlock();
        }
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
            if (prefetched.containsKey(key) || cache.policy().getIfPresentQuietly(key) != null
                    || inflight.containsKey(key)) {
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

    /**
     * Read-ahead of a stream that reads goes before unread read-ahead of streams that stopped: drops
     * the unread read-ahead of every other stream idle for {@code idleStreamTime} (a reader that
     * finished, or paused), which would otherwise hold read-ahead's share of the budget until it
     * expires. Returns whether anything was dropped. Streams that are reading never lose theirs, so
     * two readers cannot take each other's read-ahead in turn.
     */
    private boolean reclaimPrefetchedOfIdleStreams(long readingStream) {
        if (prefetched.isEmpty()) {
            return false;
        }
        long now = ticker.read();
        boolean dropped = false;
        for (var e : prefetched.entrySet()) {
            long owner = e.getValue().streamId;
            if (owner != readingStream && readAhead.isIdle(owner, idleStreamNanos, now)) {
                removePrefetched(e.getKey(), e.getValue(), true);
                dropped = true;
            }
        }
        return dropped;
    }

    private void startDemand(List<PendingLoad> run) {
        long bytes = bytesOf(run);
        boolean now;
        try {
            now = budget.acquireOrWait(bytes, () -> load(run), e -> {
                rejectedReads.increment();
                fail(run, e);
            });
        } catch (BackpressureException e) {
            rejectedReads.increment();
            fail(run, e);
            return;
        }
        if (now) {
            load(run);
        } else {
            reclaimPrefetchedForWaitingLoads();
        }
    }

    /**
     * Demand reads come before read-ahead: while demand loads wait for budget, unread read-ahead
     * (which holds budget until read) is dropped, oldest first. This is also what guarantees that a
     * waiting load starts: once unread read-ahead is gone, only loads in flight hold budget, and each
     * of them releases it when it completes.
     */
    private void reclaimPrefetchedForWaitingLoads() {
        if (budget.waitingLoads() == 0 || prefetched.isEmpty()) {
            return;
        }
        List<Map.Entry<BlockKey, CachedBlock>> oldestFirst = new ArrayList<>(prefetched.entrySet());
        oldestFirst.sort(Comparator.comparingLong(e -> e.getValue().loadedAtNanos));
        for (Map.Entry<BlockKey, CachedBlock> e : oldestFirst) {
            if (budget.waitingLoads() == 0) {
                return;
            }
            removePrefetched(e.getKey(), e.getValue(), true);
        }
    }

    private void startPrefetches(long streamId, List<List<PendingLoad>> runs) {
        for (int i = 0; i < runs.size(); i++) {
            List<PendingLoad> run = runs.get(i);
            if (budget.tryAcquirePrefetch(bytesOf(run))
                    || reclaimPrefetchedOfIdleStreams(streamId) && budget.tryAcquirePrefetch(bytesOf(run))) {
                load(run);
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

    private void load(List<PendingLoad> run) {
        List<BlockRef> refs = new ArrayList<>(run.size());
        for (PendingLoad p : run) {
            refs.add(p.ref());
        }
        loads.increment();
        List<CompletableFuture<ByteBuf>> each;
        try {
            each = loader.loadEach(refs.get(0).objectId(), List.copyOf(refs));
        } catch (RuntimeException e) {
            each = failedRun(run.size(), e);
        }
        if (each == null || each.size() != run.size() || containsNull(each)) {
            if (each != null) {
                each.forEach(f -> {
                    if (f != null) {
                        f.thenAccept(ByteBuf::release); // nobody else will take these buffers
                    }
                });
            }
            each = failedRun(run.size(), new IllegalStateException("BlockLoader returned "
                    + (each == null ? "null" : each.size() + " futures") + " for " + run.size() + " blocks: objectId="
                    + refs.get(0).objectId()));
        }
        List<CompletableFuture<ByteBuf>> outcomes = List.copyOf(each);
        // Complete the run once every block's outcome is known: one GET serves the whole run, and
        // returning its budget in one step keeps the accounting simple.
        CompletableFuture.allOf(outcomes.toArray(CompletableFuture[]::new))
                .whenComplete((v, ignored) -> completeLoadOnExecutor(run, outcomes));
    }

    /**
     * Runs {@link #completeLoad} on the cache's executor, or right here if the executor was shut down
     * while the load was in flight (as when the store closes; see {@link #inlineWhenRejected}):
     * completeLoad must run for every load, since it alone releases the loaded buffers of a closed cache.
     */
    private void completeLoadOnExecutor(List<PendingLoad> run, List<CompletableFuture<ByteBuf>> outcomes) {
        executor.execute(() -> completeLoad(run, outcomes));
    }

    private static boolean containsNull(List<?> list) {
        for (Object o : list) { // not List.contains(null): immutable lists throw on it
            if (o == null) {
                return true;
            }
        }
        return false;
    }

    private static List<CompletableFuture<ByteBuf>> failedRun(int blocks, Throwable error) {
        List<CompletableFuture<ByteBuf>> out = new ArrayList<>(blocks);
        for (int i = 0; i < blocks; i++) {
            out.add(CompletableFuture.failedFuture(error));
        }
        return out;
    }

    /**
     * Publishes each block of a completed run, or fails the readers of that block alone: a damaged
     * block must not fail readers of its intact neighbours (which would report intact data as corrupt).
     * Every future in {@code outcomes} is done.
     */
    private void completeLoad(List<PendingLoad> run, List<CompletableFuture<ByteBuf>> outcomes) {
        // Prefetched blocks keep their budget bytes until read or expired; the rest return it now.
        long returnBytes = bytesOf(run);
        try {
            for (int i = 0; i < run.size(); i++) {
                PendingLoad p = run.get(i);
                CompletableFuture<ByteBuf> outcome = outcomes.get(i);
                Throwable error = outcome.isCompletedExceptionally() ? outcome.handle((b, e) -> e).join() : null;
                ByteBuf buf = error == null ? outcome.join() : null;
                if (error == null && buf == null) {
                    error = new IllegalStateException("BlockLoader completed a block with null: objectId="
                            + p.ref().objectId() + " blockIndex=" + p.ref().blockIndex());
                }
                if (error != null) {
                    Throwable cause = unwrap(error);
                    LOG.debug("block load failed: objectId={} blockIndex={} runBlocks={}", p.ref().objectId(),
                            p.ref().blockIndex(), run.size(), cause);
                    fail(List.of(p), cause);
                } else if (publishLoaded(p, buf)) {
                    returnBytes -= p.ref().sizeBytes();
                }
            }
        } finally {
            budget.release(returnBytes);
        }
        expirePrefetched();
        reclaimPrefetchedForWaitingLoads();
    }

    /** Publishes a loaded block and completes its readers; true if it now holds budget as read-ahead. */
    private boolean publishLoaded(PendingLoad p, ByteBuf buf) {
        BlockKey key = p.ref().key();
        CachedBlock block = new CachedBlock(buf, p.ref().sizeBytes(), p.prefetch(), p.streamId(), ticker.read());
        loadedBlocks.increment();
        loadedBytes.add(block.sizeBytes);
        boolean holdsBudget = false;
        lifecycle.readLock().lock();
        try {
            if (closed) {
                inflight.remove(key, p);
                p.future().completeExceptionally(new IllegalStateException("BlockCache is closed"));
                block.release();
                return false;
            }
            block.tryRetain(); // the completer's claim, held while the waiting readers take theirs
            if (p.prefetch()) {
                prefetchedBytes.add(block.sizeBytes);
                CachedBlock previous = prefetched.put(key, block);
                holdsBudget = true;
                prefetchedUnreadBytes.add(block.sizeBytes);
                if (previous != null) { // cannot happen under single flight; stay balanced anyway
                    left(key, previous, false);
                }
            } else {
                cache.put(key, block);
            }
        } finally {
            lifecycle.readLock().unlock();
        }
        inflight.remove(key, p);
        try {
            p.future().complete(block);
        } finally {
            block.release();
        }
        return holdsBudget;
    }

    /**
     * Drops read-ahead blocks loaded longer than the prefetch TTL ago (unread ones count as unused;
     * read ones move into Caffeine) and forgets streams' reading blocks that already left.
     */
    private void expirePrefetched() {
        if (!reading.isEmpty()) {
            reading.values().removeIf(key -> !prefetched.containsKey(key));
        }
        if (prefetched.isEmpty()) {
            return;
        }
        long now = ticker.read();
        for (var e : prefetched.entrySet()) {
            if (now - e.getValue().loadedAtNanos > prefetchTtlNanos) {
                removePrefetched(e.getKey(), e.getValue(), true);
            }
        }
    }

    private void fail(List<PendingLoad> run, Throwable cause) {
        for (PendingLoad p : run) {
            inflight.remove(p.ref().key(), p);
            p.future().completeExceptionally(cause);
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
        block.release();
    }

    /** Drops every cached block of an object (deleted by compaction). Readers keep what they hold. */
    public void invalidateObject(long objectId) {
        cache.asMap().keySet().removeIf(k -> k.objectId() == objectId);
        for (var e : prefetched.entrySet()) {
            if (e.getKey().objectId() == objectId) {
                removePrefetched(e.getKey(), e.getValue(), false); // the object is gone: not into Caffeine
            }
        }
    }

    /**
     * Continues a sequential stream's read-ahead up to its window without waiting for its next read:
     * the {@link BlockLocator} calls it when it learnt where the stream's data continues (the next
     * object's index arrived) after it could not say at the last read. Does nothing for a stream
     * that is not reading sequentially, or after {@link #close()}. The loads it starts are read-ahead:
     * they use read-ahead's share of the in-flight budget and never wait for it. Thread-safe; never
     * throws for a failing locator (read-ahead is skipped).
     */
    public void resumeReadAhead(long streamId) {
        if (!closed) {
            prefetch(streamId, readAhead.resume(streamId));
        }
    }

    /** Forgets the read pattern of a stream (closed or deleted). */
    public void forgetStream(long streamId) {
        readAhead.forget(streamId);
    }

    /**
     * Runs pending maintenance now, on the calling thread: Caffeine's (eviction) and the expiry of
     * unread read-ahead. Tests use it with a fake ticker; in production both also run on their own
     * as the cache is used.
     */
    public void cleanUp() {
        cache.cleanUp();
        expirePrefetched();
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
                prefetchedUnusedBytes.sum(), prefetchedUnreadBytes.sum(), readingBytes.sum(), budget.inFlightBytes(), rejectedReads.sum(),
                skippedPrefetches.sum());
    }

    /**
     * Drops every cached and prefetched block (readers keep what they hold) and refuses later reads.
     * Loads still in flight release their buffers when they complete. Idempotent.
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
        for (var e : prefetched.entrySet()) {
            if (prefetched.remove(e.getKey(), e.getValue())) {
                int was = e.getValue().leave();
                prefetchedUnreadBytes.add(was == CachedBlock.UNREAD ? -e.getValue().sizeBytes : 0);
                readingBytes.add(was == CachedBlock.READ ? -e.getValue().sizeBytes : 0);
                e.getValue().release();
                budget.release(e.getValue().budgetBytes);
            }
        }
        reading.clear();
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
        private Duration maxWait = DEFAULT_MAX_WAIT;
        private long initialWindowBytes = DEFAULT_INITIAL_WINDOW_BYTES;
        private long maxWindowBytes = DEFAULT_MAX_WINDOW_BYTES;
        private int sequentialThreshold = DEFAULT_SEQUENTIAL_THRESHOLD;
        private long maxLoadBytes = DEFAULT_MAX_LOAD_BYTES;
        private Duration prefetchTtl = DEFAULT_PREFETCH_TTL;
        private Duration idleStreamTime = DEFAULT_IDLE_STREAM_TIME;
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

        /**
         * Longest time a demand load waits for in-flight budget before its readers fail with
         * {@link BackpressureException} (measured on the ticker, checked when budget is released).
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder maxWait(Duration wait) {
            if (wait == null || wait.isNegative() || wait.isZero()) {
                throw new IllegalArgumentException("maxWait must be positive, got " + wait);
            }
            this.maxWait = wait;
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

        /**
         * How long a stream reads nothing before its unread read-ahead may be dropped to make room
         * for read-ahead of a stream that reads (see {@link #DEFAULT_IDLE_STREAM_TIME}).
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder idleStreamTime(Duration time) {
            if (time == null || time.isNegative() || time.isZero()) {
                throw new IllegalArgumentException("idleStreamTime must be positive, got " + time);
            }
            this.idleStreamTime = time;
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

        /** Time source for the prefetch TTL and the budget wait. Default: {@link Ticker#systemTicker()}. */
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
