package dev.strata.core;

import dev.strata.api.AppendResult;
import dev.strata.api.BackpressureException;
import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.OffsetOutOfRangeException;
import dev.strata.api.RecordBatch;
import dev.strata.api.StorageException;
import dev.strata.api.StrataException;
import dev.strata.api.Stream;
import dev.strata.api.StreamClosedException;
import dev.strata.api.StreamFencedException;
import dev.strata.api.StreamNotFoundException;
import dev.strata.api.StreamOptions;
import dev.strata.cache.CachedBatch;
import dev.strata.cache.LogCache;
import dev.strata.cache.LogCacheFetch;
import dev.strata.core.metadata.MetadataStore;
import dev.strata.core.metadata.StreamMetadata;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.format.StreamBatch;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.wal.WalAppendResult;
import dev.strata.wal.WriteAheadLog;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable {@link dev.strata.api.StreamStore}: appends go to the WAL, then the LogCache; the {@link Uploader}
 * moves them to objects and commits them to the {@link MetadataStore}; fetches read the LogCache
 * or, below it, objects through the {@link dev.strata.cache.BlockCache}. Built by {@link Strata#builder()}.
 *
 * <h2>Concurrency</h2>
 * Each stream's {@link StreamState} monitor guards offset assignment and the WAL hand-off, so the
 * WAL receives a stream's batches in offset order. The batch is encoded (buffer allocated, payload
 * copied) before the monitor is taken; under it only the offset and the CRC are filled in. The WAL
 * completes appends in order, on the thread that reported the write (its I/O completion thread:
 * {@code BlockDeviceWal} runs with inline callbacks, never while holding its lock, never on an
 * appending thread); there, under {@code ingestLock}, the batch enters the LogCache and the
 * stream's acknowledged end moves. That completion path never takes a stream's monitor: an
 * appending thread that holds it and is descheduled (more appending threads than cores) must not
 * stall every completion behind it. The stream's completions still run one at a time in offset
 * order (see {@link #assignAndWrite}), so they need no lock among themselves, and they publish
 * through volatile fields and {@link StreamState#inFlight}. The user's future is then completed on
 * the stream's {@link SerialExecutor} (never on a WAL thread). {@code ingestLock} also makes "seal
 * the cache for upload" and "the WAL position the sealed data reaches" one atomic step (see
 * Uploader).
 *
 * <h2>Durability</h2>
 * An append completes only after the WAL reported it durable. Trims and stream lifecycle changes
 * complete after the metadata store made them durable.
 *
 * <h2>Failure</h2>
 * An append refused before reaching the WAL (no room, closed, fenced) fails alone and takes no
 * offset. An append that fails after reaching the WAL (I/O error) fails the stream: every later
 * in-flight append of that stream fails too (no holes), and the stream refuses appends until it is
 * re-opened. Object-store failures never fail appends: the uploader retries, the WAL absorbs writes
 * meanwhile, and when WAL or cache are full appends fail with {@link BackpressureException}.
 *
 * <h2>Backpressure</h2>
 * Before the WAL hand-off an append needs room in the LogCache for its encoded size; the WAL
 * refuses what does not fit (ring space, or every write buffer in use). A refused append takes no
 * offset; it waits, holding no lock, for the limit that refused it to clear (the LogCache on
 * {@code room}, signalled by uploads and cancelled reservations; the WAL in
 * {@link WriteAheadLog#awaitRoom}, by the WAL's own admission rule), then tries again, until
 * {@code appendBackpressureWait} has passed since the append began: only then does it fail with
 * {@link BackpressureException} (retriable). The fast path (nothing full) takes no extra lock.
 */
final class DefaultStreamStore implements DurableStreamStore {
    private static final Logger LOG = LoggerFactory.getLogger(DefaultStreamStore.class);

    private final EngineConfig config;
    private final WriteAheadLog wal;
    private final MetadataStore metadata;
    private final LogCache logCache;
    private final ObjectReadPath readPath;
    private final Uploader uploader;
    private final Compactor compactor;
    /** Where appends are encoded: slabs of the store's buffer allocator. */
    private final AppendSlabs slabs;
    private volatile MemoryLimits memoryLimits;
    private final java.util.concurrent.Executor callbackExecutor;
    private final List<AutoCloseable> owned;
    private volatile StoreRecoveryReport recoveryReport;

    /** Makes "insert into the LogCache, then note the record's WAL end" atomic with sealing for upload. */
    private final Object ingestLock = new Object();
    /** Highest WAL end position of a record handled (inserted, or dropped as never acknowledged). Guarded by: ingestLock. */
    private long handledWalEnd;
    /** The WAL position the last seal reached: WAL bytes above it are not being uploaded yet. Guarded by: ingestLock. */
    private long sealedWalEnd;
    /**
     * Appends hold the read lock from the WAL hand-off until their completion callback is registered;
     * sealing takes the write lock. Why: a callback runs out of WAL order only when its future
     * completed before the callback was registered (it then runs inline, late). With no append inside
     * that window, every completed WAL record has been handled, in WAL order, so the highest handled
     * end position is a safe WAL trim point for what the seal takes.
     */
    private final java.util.concurrent.locks.ReentrantReadWriteLock handOff = new java.util.concurrent.locks.ReentrantReadWriteLock();

    private final ConcurrentHashMap<Long, StreamState> streams = new ConcurrentHashMap<>();
    private final WaitSignal room = new WaitSignal();
    private volatile StoreMetrics metrics = StoreMetrics.NONE;
    private volatile boolean closed;
    /** Set when the store starts serving (end of a successful build). */
    private volatile boolean started;
    /** Appends handed to the WAL whose completion has not been queued yet; close waits for them (on {@link #drained}). */
    private final java.util.concurrent.atomic.AtomicLong appendsInFlight = new java.util.concurrent.atomic.AtomicLong();
    private final WaitSignal drained = new WaitSignal();
    /** Longest wait at close for appends already handed to the WAL (a stuck device must not hang close). */
    private static final long CLOSE_DRAIN_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
    /** Default of {@link Strata.Builder#closeUploadTimeout}. */
    static final java.time.Duration DEFAULT_CLOSE_UPLOAD_TIMEOUT = java.time.Duration.ofSeconds(5);
    /** Longest wait at close for the final upload (set once, before serving). */
    private volatile long closeUploadNanos = DEFAULT_CLOSE_UPLOAD_TIMEOUT.toNanos();
    /** Set when a newer process took over the store's metadata: every write then fails fenced. */
    private volatile Throwable fencedBy;

    DefaultStreamStore(EngineConfig config, WriteAheadLog wal, MetadataStore metadata, ObjectStorage storage,
            LogCache logCache, long blockCacheBytes, long maxInFlightReadBytes, ByteBufAllocator allocator,
            java.util.concurrent.Executor callbackExecutor, java.util.concurrent.Executor readExecutor,
            List<AutoCloseable> owned, CompactionConfig compaction, java.time.Clock clock) {
        this.config = config;
        this.wal = wal;
        this.metadata = metadata;
        this.logCache = logCache;
        this.slabs = new AppendSlabs(allocator, AppendSlabs.sparesToCover(logCache.blockSizeBytes()));
        this.callbackExecutor = callbackExecutor;
        this.owned = owned;
        this.readPath = new ObjectReadPath(storage, metadata, blockCacheBytes, maxInFlightReadBytes, readExecutor);
        ObjectKeyAllocator keys = new ObjectKeyAllocator(metadata::nodeEpoch);
        this.uploader = new Uploader(this, storage, metadata, logCache, wal, config, keys, clock);
        this.compactor = new Compactor(this, storage, metadata, keys, compaction, config.objectBlockBytes(), clock);
    }

    // ---- wiring for Strata/Recovery/Uploader ------------------------------------------------------------

    int maxBatchBytes() {
        return config.maxBatchBytes();
    }

    boolean isClosed() {
        return closed;
    }

    /** The reason this store was fenced by a newer process, or null. */
    Throwable fencedBy() {
        return fencedBy;
    }

    /** A newer process registered on the same metadata: refuse every later write. */
    void fence(Throwable cause) {
        if (fencedBy == null) {
            fencedBy = cause;
            LOG.error("store fenced by a newer process; appends and trims now fail: {}", cause.toString());
        }
    }

    /** Whether {@code streamId} exists (not deleted) in this store. */
    boolean isLive(long streamId) {
        StreamState s = streams.get(streamId);
        return s != null && !s.deleted;
    }

    /** Seeds the read path with the index of an object just written. */
    void registerObject(dev.strata.core.metadata.ObjectMetadata object, dev.strata.objectstore.format.ObjectIndex index) {
        readPath.register(object, index);
    }

    /** Waits (bounded) while catch-up reads from objects are in flight; returns whether it waited. */
    boolean awaitNoCatchUpReads(long maxNanos) {
        return readPath.awaitNoFetches(maxNanos);
    }

    /** Forgets what the read path cached about a deleted object. */
    void forgetObject(String key) {
        readPath.forgetObject(key);
    }

    /** Accounts recovered WAL data that was skipped (already committed, deleted, unacknowledged). */
    void advanceWalEnd(long position) {
        synchronized (ingestLock) {
            handledWalEnd = Math.max(handledWalEnd, position);
        }
    }

    @Override
    public String walBackend() {
        return wal.backend();
    }

    @Override
    public StoreRecoveryReport recoveryReport() {
        return recoveryReport;
    }

    void setRecoveryReport(StoreRecoveryReport report) {
        this.recoveryReport = report;
    }

    @Override
    public CompletableFuture<Void> flush() {
        if (closed) {
            return CompletableFuture.failedFuture(new StreamClosedException("store closed"));
        }
        return uploader.flush();
    }

    Uploader uploader() {
        return uploader;
    }

    @Override
    public CompletableFuture<CompactionReport> compact() {
        if (closed) {
            return CompletableFuture.failedFuture(new StreamClosedException("store closed"));
        }
        return compactor.runNow();
    }

    @Override
    public StorageSummary storageSummary() {
        return compactor.summary();
    }

    /** The storage summary as of the last compaction cycle (cheap; for metrics gauges). */
    StorageSummary lastStorageSummary() {
        return compactor.lastSummary();
    }

    /** Starts background uploads; called once recovery's data is committed. */
    void start() {
        started = true;
        uploader.start();
        compactor.start();
    }

    /** Seals everything in the LogCache for upload, with the WAL position it reaches (atomically). */
    Uploader.Sealed sealForUpload() {
        handOff.writeLock().lock();
        try {
            synchronized (ingestLock) {
                sealedWalEnd = handledWalEnd;
                return new Uploader.Sealed(logCache.sealForUpload(), handledWalEnd);
            }
        } finally {
            handOff.writeLock().unlock();
        }
    }

    /** Adds a recovered WAL record to the cache (recovery only, before the store serves). */
    void insertRecovered(StreamBatch batch, ByteBuf encoded, long walNextPosition) {
        synchronized (ingestLock) {
            logCache.insert(batch.streamId(), batch.baseOffset(), batch.count(), batch.payloadLength(), encoded);
            handledWalEnd = Math.max(handledWalEnd, walNextPosition);
        }
    }

    /**
     * Registers every stream the metadata knows, with the next offset recovery found (its committed
     * end, or the end of what the WAL replayed); recovery only, before the store serves.
     */
    void registerRecoveredStreams(MetadataStore metadata, java.util.Map<Long, Long> replayedEnds) {
        for (StreamMetadata meta : metadata.streams()) {
            long next = Math.max(meta.committedEndOffset(), replayedEnds.getOrDefault(meta.streamId(), 0L));
            streams.compute(meta.streamId(), (id, old) -> {
                if (old != null) {
                    old.ackedEnd = next;
                    old.assignedEnd = next;
                    return old;
                }
                return new StreamState(id, meta.epoch(), meta.startOffset(), next, new SerialExecutor(callbackExecutor));
            });
        }
    }

    // ---- StreamStore --------------------------------------------------------------------------------------

    @Override
    public CompletableFuture<Stream> createStream(StreamOptions options) {
        if (options == null) {
            throw new IllegalArgumentException("options must not be null");
        }
        if (closed) {
            return CompletableFuture.failedFuture(new StreamClosedException("store closed"));
        }
        return unwrapping(metadata.createStream(options.epoch()).thenApply(meta -> {
            StreamState state = new StreamState(meta.streamId(), meta.epoch(), 0, 0, new SerialExecutor(callbackExecutor));
            DefaultStream handle = new DefaultStream(this, state, meta.epoch());
            state.holder = handle;
            streams.put(meta.streamId(), state);
            return handle;
        }));
    }

    @Override
    public CompletableFuture<Stream> openStream(long streamId, long epoch) {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        }
        if (closed) {
            return CompletableFuture.failedFuture(new StreamClosedException("store closed"));
        }
        StreamState existing = streams.get(streamId);
        long epochStart = -1; // the committed end, when this process holds nothing of the stream
        if (existing != null) {
            synchronized (existing) {
                if (existing.holder != null && !existing.holder.isClosed() && existing.epoch == epoch) {
                    return CompletableFuture.failedFuture(new StreamFencedException(
                            "stream already open at this epoch: streamId=" + streamId + " epoch=" + epoch));
                }
                if (epoch < existing.epoch) {
                    return CompletableFuture.failedFuture(new StreamFencedException("open with stale epoch: streamId="
                            + streamId + " epoch=" + epoch + " storedEpoch=" + existing.epoch));
                }
                if (epoch > existing.epoch) {
                    // Fence the current holder now, so nothing it appends lands at or above the offset
                    // from which the new epoch owns the stream (recorded in the metadata below).
                    existing.holder = null;
                    epochStart = existing.assignedEnd;
                }
            }
        }
        return unwrapping(metadata.openStream(streamId, epoch, epochStart).thenApply(meta -> {
            StreamState state = streams.computeIfAbsent(streamId, id -> new StreamState(id, meta.epoch(),
                    meta.startOffset(), meta.committedEndOffset(), new SerialExecutor(callbackExecutor)));
            synchronized (state) {
                if (state.holder != null && !state.holder.isClosed() && state.epoch == epoch) {
                    throw new StreamFencedException("stream already open at this epoch: streamId=" + streamId
                            + " epoch=" + epoch);
                }
                if (state.failure != null) {
                    int inFlight = state.inFlight.get(); // 0: every completion's effects are visible
                    if (inFlight > 0) {
                        // Appends written after the failure are still completing (and will be dropped):
                        // their offsets cannot be handed out again yet.
                        throw new StorageException("stream still completing appends after a failure; retry the open: streamId="
                                + streamId + " inFlight=" + inFlight, true);
                    }
                    state.failure = null; // a re-open clears a failed append's refusal...
                    state.assignedEnd = state.ackedEnd; // ...and reuses the offsets no append kept
                }
                DefaultStream handle = new DefaultStream(this, state, epoch);
                state.epoch = epoch;
                state.holder = handle; // fences the previous holder; its appends already handed to the WAL complete
                return handle;
            }
        }));
    }

    @Override
    public CompletableFuture<Void> deleteStream(long streamId, long epoch) {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        }
        if (closed) {
            return CompletableFuture.failedFuture(new StreamClosedException("store closed"));
        }
        return unwrapping(metadata.deleteStream(streamId, epoch).thenRun(() -> {
            StreamState state = streams.remove(streamId);
            if (state != null) {
                synchronized (state) {
                    state.deleted = true;
                    state.holder = null;
                }
            }
            synchronized (ingestLock) { // an append completing now inserts before this, or sees deleted
                logCache.dropStream(streamId);
            }
            readPath.forgetStream(streamId);
        }));
    }

    @Override
    public void close() {
        handOff.writeLock().lock(); // no append is between its closed check and the WAL hand-off now
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            handOff.writeLock().unlock();
        }
        room.signalAll(); // appends waiting for cache or WAL room fail now
        wal.wakeRoomWaiters();
        // First: catch-up reads in flight fail with StreamClosedException now, whatever the object store
        // does (during an outage it may never answer), instead of waiting behind the final upload.
        readPath.close();
        awaitAppendsInFlight(CLOSE_DRAIN_NANOS);
        slabs.close(); // the open slab lives on while the LogCache holds its buffers
        compactor.close(closeUploadNanos); // a task that has not committed leaves orphans, swept at a later start
        // One last upload of what the WAL holds (bounded; the WAL keeps it anyway), but only for a store
        // that served: a build that failed (e.g. refused for lost WAL data) must leave storage as it found it.
        boolean gaveUp = uploader.close(started, closeUploadNanos);
        if (gaveUp) {
            // The object store did not answer in time (an outage): close the storage this store owns
            // first, so that requests still waiting for it (a metadata commit, a snapshot) fail now and
            // the metadata store's close does not wait for them. What was not committed stays in the WAL.
            for (AutoCloseable c : owned) {
                if (c instanceof ObjectStorage owns) {
                    try {
                        owns.close();
                    } catch (RuntimeException e) {
                        LOG.warn("close failed: {}", owns, e);
                    }
                }
            }
        }
        for (int i = owned.size() - 1; i >= 0; i--) {
            try {
                owned.get(i).close();
            } catch (Exception e) {
                LOG.warn("close failed: {}", owned.get(i), e);
            }
        }
    }

    // ---- append ---------------------------------------------------------------------------------------------

    @Override
    public MemoryLimits memoryLimits() {
        return memoryLimits;
    }

    /** Sets the limits {@link Strata.Builder} computed from the settings (once, before serving). */
    void setMemoryLimits(MemoryLimits limits) {
        this.memoryLimits = limits;
    }

    /** Sets {@link Strata.Builder#closeUploadTimeout} (once, before serving). */
    void setCloseUploadTimeout(java.time.Duration timeout) {
        this.closeUploadNanos = timeout.toNanos();
    }

    /** Publishes the engine's metrics to {@code m} (set once, before serving). */
    void setMetrics(StoreMetrics m) {
        this.metrics = m;
    }

    StoreMetrics metrics() {
        return metrics;
    }

    /** Called by the uploader after a commit freed cache and WAL space. */
    void roomFreed() {
        room.signalAll();
    }

    /**
     * Appends {@code batch}: tries, and while a limit refuses it (see Backpressure), waits for that
     * limit and tries again, until {@code appendBackpressureWait} has passed since the call began.
     * An interrupted thread stops waiting: the append then fails with {@link BackpressureException}
     * and the thread keeps its interrupt status.
     */
    CompletableFuture<AppendResult> append(DefaultStream handle, RecordBatch batch) {
        long startNanos = System.nanoTime();
        long encodedSize = reservedBytes(batch.sizeBytes());
        long waitNanos = WaitSignal.nanos(config.appendBackpressureWait());
        CompletableFuture<AppendResult> result;
        while (true) {
            result = assignAndWrite(handle, batch, encodedSize, startNanos);
            if (!(result instanceof Refused refused)) {
                break;
            }
            uploader.wakeUp(); // uploads free both cache room and (by trimming) WAL space
            if (closed) { // a waiter woken by close(): no room will come
                result = CompletableFuture.failedFuture(new StreamClosedException("store closed"));
                break;
            }
            long remaining = waitNanos - (System.nanoTime() - startNanos);
            if (remaining <= 0 || Thread.currentThread().isInterrupted()) {
                result = CompletableFuture.failedFuture(refused.after(System.nanoTime() - startNanos, waitNanos));
                break;
            }
            if (refused.byWal) {
                try {
                    wal.awaitRoom((int) encodedSize, remaining);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt(); // seen above: the next refusal is final
                }
            } else {
                room.await(() -> closed || logCache.hasRoomFor(encodedSize), remaining);
            }
        }
        if (result.isCompletedExceptionally()) {
            metrics.appendFailed(result.handle((r, e) -> unwrap(e)).join());
        }
        return result;
    }

    /** Gives back the LogCache room of an append that will not be inserted, and wakes appenders waiting for room. */
    private void cancelReservation(long bytes) {
        logCache.cancelReservation(bytes);
        room.signalAll();
    }

    /** The LogCache reservation of an append of {@code payloadBytes}: its encoded size. */
    private static long reservedBytes(int payloadBytes) {
        return (long) StreamBatchCodec.headerSize() + payloadBytes;
    }

    /**
     * What {@link #assignAndWrite} returns when a limit refused the append (nothing taken, nothing
     * written): already failed with the limit's {@link BackpressureException}, and says which
     * limit, so that {@link #append} can wait for it.
     */
    private static final class Refused extends CompletableFuture<AppendResult> {
        /** The WAL refused (ring space or write buffers); else the LogCache. */
        final boolean byWal;
        private final BackpressureException cause;

        Refused(boolean byWal, BackpressureException cause) {
            this.byWal = byWal;
            this.cause = cause;
            completeExceptionally(cause);
        }

        /** The final refusal, after waiting {@code waitedNanos} of {@code waitNanos}. */
        BackpressureException after(long waitedNanos, long waitNanos) {
            return new BackpressureException(cause.getMessage() + "; waited "
                    + java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(waitedNanos) + " ms (appendBackpressureWait="
                    + java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(waitNanos) + " ms)"
                    + (Thread.currentThread().isInterrupted() ? ", interrupted" : ""), cause);
        }
    }

    /**
     * Assigns the offsets and hands the batch to the WAL, under the stream's lock. Returns a
     * {@link Refused} (nothing taken, nothing written) if the LogCache or the WAL had no room.
     *
     * <p>Completion order: a stream's callbacks ({@link #onDurable}) run one at a time, in offset
     * order, without a lock. The callback is registered under the stream's lock, so if the WAL
     * already completed this append it runs right here, before the stream's next append can reach
     * the WAL; otherwise it runs on the WAL's completion thread, which completes appends in WAL
     * order, which for one stream is offset order.
     */
    private CompletableFuture<AppendResult> assignAndWrite(DefaultStream handle, RecordBatch batch, long encodedSize,
            long startNanos) {
        StreamState state = handle.state();
        CompletableFuture<AppendResult> result = new CompletableFuture<>();
        // Allocate and copy before taking the stream's lock: an allocation can wait for the pool's
        // lock, and nothing that can wait may hold up the stream's other appenders.
        ByteBuf encoded = slabs.allocate(StreamBatchCodec.encodedSize(batch));
        boolean keep = false; // whether the encoded buffer went to the WAL and the completion
        try {
            StreamBatchCodec.encodeUnassigned(encoded, state.id, handle.epoch(), batch);
            synchronized (state) {
                CompletableFuture<AppendResult> refusedOrWritten = assignAndWriteLocked(handle, state, batch, encoded,
                        encodedSize, startNanos, result);
                keep = refusedOrWritten == result;
                return refusedOrWritten;
            }
        } finally {
            if (!keep) {
                encoded.release();
            }
        }
    }

    /**
     * {@link #assignAndWrite} under the stream's lock. Returns {@code result} when the batch went to the
     * WAL (the completion then owns {@code encoded}), else a failed future, a {@link Refused} one
     * among them (the caller releases {@code encoded}).
     */
    private CompletableFuture<AppendResult> assignAndWriteLocked(DefaultStream handle, StreamState state,
            RecordBatch batch, ByteBuf encoded, long encodedSize, long startNanos,
            CompletableFuture<AppendResult> result) {
        RuntimeException refused = handle.refusal(true);
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        try {
            logCache.reserve(encodedSize); // held until inserted or cancelled: in-flight appends count too
        } catch (BackpressureException e) {
            return new Refused(false, e);
        }
        long base = state.assignedEnd;
        try {
            StreamBatchCodec.assignBaseOffset(encoded, base);
        } catch (RuntimeException | Error e) {
            cancelReservation(encodedSize);
            throw e;
        }
        handOff.readLock().lock();
        try {
            if (closed) { // checked under the hand-off lock: close waits for every append past this point
                cancelReservation(encodedSize);
                return CompletableFuture.failedFuture(new StreamClosedException("store closed"));
            }
            CompletableFuture<WalAppendResult> durable;
            try {
                durable = wal.append(encoded.retain()); // WAL owns one reference, also when it throws
            } catch (RuntimeException e) {
                cancelReservation(encodedSize);
                return CompletableFuture.failedFuture(e);
            }
            if (durable.isCompletedExceptionally()) {
                // Refused before anything was written (no room, record too large): this append alone
                // fails and its offsets are not taken.
                cancelReservation(encodedSize);
                Throwable cause = durable.handle((r, e) -> unwrap(e)).join();
                if (cause instanceof BackpressureException refusal) {
                    return new Refused(true, refusal);
                }
                return CompletableFuture.failedFuture(cause);
            }
            state.assignedEnd = base + batch.count();
            state.inFlight.incrementAndGet();
            appendsInFlight.incrementAndGet();
            int count = batch.count();
            int payloadBytes = batch.sizeBytes();
            // Registered under the stream's lock: if the WAL already completed this append, the
            // callback runs here, before the stream's next append can be handed to the WAL, so a
            // stream's callbacks always run in offset order.
            durable.whenComplete((walResult, error) -> {
                try {
                    onDurable(state, base, count, payloadBytes, encoded, walResult, error, result, startNanos);
                } finally {
                    if (appendsInFlight.decrementAndGet() == 0 && closed) {
                        drained.signalAll();
                    }
                }
            });
        } finally {
            handOff.readLock().unlock();
        }
        return result;
    }

    /**
     * Runs where the WAL completes its futures (see Concurrency): a stream's completions one at a
     * time, in offset order, without the stream's lock. Always completes {@code result}.
     */
    private void onDurable(StreamState state, long base, int count, int payloadBytes, ByteBuf encoded,
            WalAppendResult walResult, Throwable error, CompletableFuture<AppendResult> result, long startNanos) {
        Throwable failure = null;
        long unsealedWalBytes = 0; // WAL bytes written since the last seal, for the upload trigger
        boolean handedOff = false; // LogCache.insert owns the buffer from the call on, even if it throws
        try {
            if (error != null) {
                if (state.failure == null) {
                    state.failure = unwrap(error);
                }
                failure = storageFailure(unwrap(error));
            } else if (state.failure != null) {
                // An earlier in-flight append failed: this one must not become visible, or the
                // stream would have a hole.
                failure = new StreamClosedException("an earlier append of this stream failed: streamId=" + state.id,
                        state.failure);
            } else {
                synchronized (ingestLock) {
                    if (state.deleted) { // checked here: deleteStream drops the stream from the cache under ingestLock
                        failure = new StreamNotFoundException(state.id);
                    } else {
                        handedOff = true;
                        logCache.insert(state.id, base, count, payloadBytes, encoded, reservedBytes(payloadBytes));
                        handledWalEnd = Math.max(handledWalEnd, walResult.nextPosition());
                        unsealedWalBytes = handledWalEnd - sealedWalEnd;
                    }
                }
                if (failure == null) {
                    state.ackedEnd = base + count;
                }
            }
        } catch (Throwable t) {
            LOG.error("accepting a durable append failed: streamId={} baseOffset={}", state.id, base, t);
            if (state.failure == null) {
                state.failure = t;
            }
            failure = new StorageException("accepting a durable append failed: streamId=" + state.id + " baseOffset="
                    + base, false, t);
        } finally {
            if (!handedOff) {
                cancelReservation(reservedBytes(payloadBytes));
                encoded.release();
            }
            state.inFlight.decrementAndGet(); // last: a re-open that sees no append in flight sees all of the above
        }
        if (walResult != null && failure != null) {
            synchronized (ingestLock) { // written but dropped (never acknowledged): nothing to keep for it
                handledWalEnd = Math.max(handledWalEnd, walResult.nextPosition());
            }
        }
        // Size trigger, in both units: cache bytes, and WAL bytes (records padded to the device's blocks,
        // so many small appends fill the WAL faster than the cache; the WAL must not fill silently).
        if (failure == null && (logCache.unuploadedBytes() >= config.uploadThresholdBytes()
                || unsealedWalBytes >= config.uploadThresholdBytes())) {
            uploader.wakeUp();
        }
        if (failure == null) {
            metrics.appendAcknowledged(payloadBytes, System.nanoTime() - startNanos);
        } else {
            metrics.appendFailed(failure);
        }
        Throwable f = failure;
        state.completions.execute(() -> {
            if (f == null) {
                result.complete(new AppendResult(base));
            } else {
                result.completeExceptionally(f);
            }
        });
    }

    /** Waits (bounded) until every append handed to the WAL has had its completion queued. */
    private void awaitAppendsInFlight(long maxNanos) {
        if (!drained.await(() -> appendsInFlight.get() == 0, maxNanos)) {
            LOG.warn("closing with {} appends still in flight after {} ms; they fail as the WAL closes",
                    appendsInFlight.get(), java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(maxNanos));
        }
    }

    // ---- fetch ----------------------------------------------------------------------------------------------

    CompletableFuture<FetchResult> fetch(StreamState state, long start, long end, int maxBytes) {
        LogCacheFetch cached = logCache.fetch(state.id, start, end, maxBytes);
        metrics.fetched(cached.isHit());
        if (cached.isHit()) {
            return CompletableFuture.completedFuture(toFetchResult(cached));
        }
        cached.close();
        return readPath.fetch(state.id, start, end, maxBytes);
    }

    private static FetchResult toFetchResult(LogCacheFetch cached) {
        List<FetchedBatch> batches = new ArrayList<>(cached.batches().size());
        for (CachedBatch b : cached.batches()) {
            StreamBatch sb = StreamBatchCodec.wrap(b.data());
            batches.add(new FetchedBatch(sb.baseOffset(), sb.count(), sb.baseTimestamp(), sb.payload().nioBuffer()));
        }
        return new PooledFetchResult(batches, cached);
    }

    // ---- trim -----------------------------------------------------------------------------------------------

    CompletableFuture<Void> trim(DefaultStream handle, long newStart) {
        StreamState state = handle.state();
        synchronized (state) {
            RuntimeException refused = handle.refusal(true);
            if (refused != null) {
                return CompletableFuture.failedFuture(refused);
            }
            if (newStart > state.ackedEnd) {
                return CompletableFuture.failedFuture(
                        new OffsetOutOfRangeException(state.id, newStart, state.startOffset, state.ackedEnd));
            }
            if (newStart <= state.startOffset) {
                return CompletableFuture.completedFuture(null);
            }
        }
        return unwrapping(metadata.trimStream(state.id, handle.epoch(), newStart).thenAccept(meta -> {
            synchronized (state) {
                state.startOffset = Math.max(state.startOffset, meta.startOffset());
            }
        }));
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    static Throwable unwrap(Throwable t) {
        Throwable cur = t;
        while ((cur instanceof CompletionException || cur instanceof ExecutionException) && cur.getCause() != null) {
            cur = cur.getCause();
        }
        return cur;
    }

    private static Throwable storageFailure(Throwable t) {
        return t instanceof StrataException ? t : new StorageException("WAL append failed", false, t);
    }

    /** Makes a future fail with the unwrapped typed cause, as the API promises. */
    static <T> CompletableFuture<T> unwrapping(CompletableFuture<T> future) {
        CompletableFuture<T> out = new CompletableFuture<>();
        future.whenComplete((v, e) -> {
            if (e == null) {
                out.complete(v);
            } else {
                out.completeExceptionally(unwrap(e));
            }
        });
        return out;
    }
}
