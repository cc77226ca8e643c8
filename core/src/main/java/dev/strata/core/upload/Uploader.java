package dev.strata.core.upload;

import dev.strata.api.StreamFencedException;
import dev.strata.cache.LogCache;
import dev.strata.cache.SealedBlock;
import dev.strata.core.metadata.MetadataStore;
import dev.strata.core.metadata.ObjectMetadata;
import dev.strata.core.metadata.ObjectType;
import dev.strata.core.metadata.StreamRange;
import dev.strata.core.metrics.StoreMetrics;
import dev.strata.core.read.ObjectCatalog;
import dev.strata.core.support.Futures;
import dev.strata.core.support.StoreState;
import dev.strata.core.support.WaitSignal;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.PutCondition;
import dev.strata.objectstore.format.ObjectWriter;
import dev.strata.objectstore.format.ObjectWriterOptions;
import dev.strata.objectstore.format.WrittenObject;
import dev.strata.wal.api.WriteAheadLog;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves acknowledged data from the WAL and LogCache into object storage.
 *
 * <h2>One upload</h2>
 * <ol>
 *   <li>Seal: take every LogCache block, together with the WAL position the sealed data reaches
 *       (one atomic step: {@link UploadSource#seal}).</li>
 *   <li>Write: one stream-set object holding each live stream's batches, grouped by stream in offset
 *       order, written by {@link ObjectWriter} (streamed: one data block in memory at a time), the
 *       very buffers the WAL and cache hold, with no re-encoding.</li>
 *   <li>Commit: one metadata change adds the object, advances the streams' committed end offsets and
 *       records the WAL trim point. Commits happen strictly in upload order (one uploader thread).</li>
 *   <li>Release: the blocks become evictable in the LogCache; the WAL is trimmed.</li>
 * </ol>
 *
 * <h2>Failure</h2>
 * A failed write or commit is retried with exponential backoff, forever, with the same blocks and,
 * once the object is written, the same object (so a commit whose outcome was unknown is retried
 * idempotently, never committed twice). Meanwhile appends keep going to the WAL until it or the
 * cache is full, then fail with retriable backpressure: never a halt, never data loss. Objects
 * written but never committed are orphans, left for garbage collection. A commit fenced by a
 * newer process ({@link StreamFencedException}) stops uploads for good and fences the store.
 *
 * <h2>Concurrency</h2>
 * Everything runs on the single thread "strata-upload"; fields are confined to it unless marked.
 */
public final class Uploader implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Uploader.class);

    /** Longest wait between retries of a failed upload. */
    private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(30);

    /** Objects of one upload written at once (stream-set objects plus stream objects). */
    private static final int UPLOAD_WRITER_THREADS = 2;

    /** Shared data per stream-set object above which an upload writes several in parallel. */
    static final long PARALLEL_STREAM_SET_BYTES = 8L << 20;

    /**
     * Longest wait at close for the upload threads to stop once interrupted (their waits on storage
     * are interruptible, so they stop at once; a guard against a thread stuck elsewhere).
     */
    private static final long CLOSE_STOP_SECONDS = 5;

    /** An object written, with the index a reader would fetch. */
    private record WrittenPart(ObjectMetadata metadata, dev.strata.objectstore.format.ObjectIndex index) {
    }

    /** Objects written but not yet committed (empty when all data belonged to deleted streams). */
    private record PendingCommit(List<WrittenPart> objects, long walEnd) {
    }

    /** Whether objects record their encrypted batches' data keys (a store with encryption). */
    private final boolean recordDataKeys;
    private final UploadSource source;
    /** Whether a stream exists (not deleted): data of deleted streams is left out of objects. */
    private final LongPredicate live;
    private final ObjectCatalog catalog;
    private final StoreState state;
    private final StoreMetrics metrics;
    private final ObjectStorage storage;
    private final MetadataStore metadata;
    private final LogCache logCache;
    private final WriteAheadLog wal;
    private final UploadSettings settings;
    private final ObjectWriterOptions writerOptions;
    private final ObjectKeyAllocator keys;
    private final java.time.Clock clock;
    private final ScheduledExecutorService executor;
    /** Writes the objects of one upload in parallel. */
    private final java.util.concurrent.ExecutorService writers;
    private final AtomicBoolean wakeUpQueued = new AtomicBoolean();
    /** Flushes asked for and not completed; close fails those it cancels. */
    private final java.util.Set<CompletableFuture<Void>> flushes = java.util.concurrent.ConcurrentHashMap.newKeySet();

    // confined to the upload thread
    private final List<SealedBlock> taken = new ArrayList<>();
    private long takenWalEnd;
    /** Highest WAL trim position asked for. */
    private long trimRequested;
    private PendingCommit pendingCommit;
    private long backoffNanos;
    private long retryNotBeforeNanos;
    private volatile Throwable fenced;
    /** Whether an upload is writing objects; {@link #awaitIdle} waits on {@code idle} for it to end. */
    private volatile boolean uploading;
    private final WaitSignal idle = new WaitSignal();

    /**
     * @param source where acknowledged data is sealed from (the append side's ledger)
     * @param live whether a stream exists (not deleted)
     * @param catalog told about every object committed
     * @param state fenced when a commit finds a newer process; told when room is freed
     */
    public Uploader(UploadSource source, LongPredicate live, ObjectCatalog catalog, StoreState state,
            StoreMetrics metrics, ObjectStorage storage, MetadataStore metadata, LogCache logCache, WriteAheadLog wal,
            UploadSettings settings, ObjectKeyAllocator keys, java.time.Clock clock) {
        this(source, live, catalog, state, metrics, storage, metadata, logCache, wal, settings, keys, clock, false);
    }

    /**
     * @param recordDataKeys whether objects record the data keys of their encrypted batches
     *     ({@link ObjectMetadata#dataKeyIds()}; a store with encryption), else they are unknown (null)
     */
    public Uploader(UploadSource source, LongPredicate live, ObjectCatalog catalog, StoreState state,
            StoreMetrics metrics, ObjectStorage storage, MetadataStore metadata, LogCache logCache, WriteAheadLog wal,
            UploadSettings settings, ObjectKeyAllocator keys, java.time.Clock clock, boolean recordDataKeys) {
        this.recordDataKeys = recordDataKeys;
        this.source = source;
        this.live = live;
        this.catalog = catalog;
        this.state = state;
        this.metrics = metrics;
        this.storage = storage;
        this.metadata = metadata;
        this.logCache = logCache;
        this.wal = wal;
        this.settings = settings;
        this.keys = keys;
        this.clock = clock;
        this.writerOptions = ObjectWriterOptions.builder().blockSizeBytes(settings.objectBlockBytes()).build();
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "strata-upload");
            t.setDaemon(true);
            return t;
        });
        java.util.concurrent.atomic.AtomicInteger writerIds = new java.util.concurrent.atomic.AtomicInteger();
        this.writers = Executors.newFixedThreadPool(UPLOAD_WRITER_THREADS, r -> {
            Thread t = new Thread(r, "strata-upload-writer-" + writerIds.getAndIncrement());
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts the periodic (age-based) upload. */
    public void start() {
        long intervalNanos = settings.interval().toNanos();
        executor.scheduleWithFixedDelay(() -> uploadQuietly(false), intervalNanos, intervalNanos, TimeUnit.NANOSECONDS);
    }

    /** Asks for an upload soon (size threshold reached, or the cache is full); cheap and idempotent. */
    public void wakeUp() {
        if (wakeUpQueued.compareAndSet(false, true)) {
            try {
                executor.execute(() -> {
                    wakeUpQueued.set(false);
                    uploadQuietly(false);
                });
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                wakeUpQueued.set(false);
            }
        }
    }

    /** The newer process that fenced this one, or null. */
    Throwable fenced() {
        return fenced;
    }

    /**
     * Uploads and commits everything acknowledged so far, ignoring any retry backoff; completes when
     * it is committed (or fails with the reason it could not be).
     */
    public CompletableFuture<Void> flush() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        flushes.add(done);
        done.whenComplete((v, e) -> flushes.remove(done));
        try {
            executor.execute(() -> {
                try {
                    uploadOnce(true);
                    done.complete(null);
                } catch (Throwable t) {
                    done.completeExceptionally(Futures.unwrap(t));
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            done.completeExceptionally(new dev.strata.api.StreamClosedException("store closed"));
        }
        return done;
    }

    /**
     * Waits for {@code f} like {@link CompletableFuture#join()}, but stops when the thread is
     * interrupted ({@link #close} stopping the uploader while object storage does not answer).
     */
    private static <T> T await(CompletableFuture<T> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new dev.strata.api.StreamClosedException("store closing: upload stopped while waiting for object storage");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new java.util.concurrent.CompletionException(e.getCause());
        }
    }

    private void uploadQuietly(boolean force) {
        try {
            uploadOnce(force);
        } catch (Throwable t) {
            Throwable cause = Futures.unwrap(t);
            if (fenced == null) {
                LOG.warn("upload failed, will retry in {} ms: {}", TimeUnit.NANOSECONDS.toMillis(backoffNanos), cause.toString());
            }
        }
    }

    /** One upload cycle; runs on the upload thread. */
    private void uploadOnce(boolean force) {
        if (fenced != null) {
            throw new StreamFencedException("store fenced by a newer process; uploads stopped", fenced);
        }
        long now = System.nanoTime();
        if (!force && now < retryNotBeforeNanos) {
            return;
        }
        try {
            if (pendingCommit != null) {
                commitPending(); // an earlier commit's outcome was unknown: retry it, idempotently
            }
            if (taken.isEmpty() || force) {
                UploadSource.Sealed sealed = source.seal();
                taken.addAll(sealed.blocks());
                takenWalEnd = Math.max(takenWalEnd, sealed.walEnd());
            }
            if (!taken.isEmpty()) {
                long start = System.nanoTime();
                setUploading(true);
                pendingCommit = writeObjects(taken, live, takenWalEnd);
                int objects = pendingCommit.objects().size();
                long bytes = 0;
                for (WrittenPart part : pendingCommit.objects()) {
                    bytes += part.metadata().sizeBytes();
                }
                commitPending();
                metrics.uploadCommitted(objects, bytes, System.nanoTime() - start);
            } else if (takenWalEnd > trimRequested) {
                // Nothing to upload, but the WAL holds records that were all handled without a cache
                // insert (already committed, of deleted streams, never acknowledged, or lost data the
                // owner accepted at open): trim past them, or they stay until the next upload.
                trimWal(takenWalEnd);
            }
            backoffNanos = 0;
            retryNotBeforeNanos = 0;
        } catch (Throwable t) {
            metrics.uploadFailed();
            Throwable cause = Futures.unwrap(t);
            if (cause instanceof StreamFencedException) {
                fenced = cause;
                state.fence(cause);
            }
            backoffNanos = backoffNanos == 0 ? settings.retryBackoff().toNanos()
                    : Math.min(MAX_BACKOFF_NANOS, backoffNanos * 2);
            retryNotBeforeNanos = System.nanoTime() + backoffNanos;
            throw t;
        } finally {
            setUploading(false);
        }
    }

    private void setUploading(boolean value) {
        uploading = value;
        if (!value) {
            idle.signalAll();
        }
    }

    /**
     * Waits until no upload is writing objects, at most {@code maxNanos}: background work (compaction)
     * calls it before each read so that uploads, which free WAL and cache space, go first. Returns
     * whether it had to wait.
     */
    public boolean awaitIdle(long maxNanos) {
        if (!uploading) {
            return false;
        }
        idle.await(() -> !uploading, maxNanos);
        return true;
    }

    /** Commits the pending object (if any live data was in it), then releases its blocks and trims the WAL. */
    private void commitPending() {
        if (!pendingCommit.objects().isEmpty()) {
            List<ObjectMetadata> objects = new ArrayList<>();
            for (WrittenPart part : pendingCommit.objects()) {
                objects.add(part.metadata());
            }
            await(metadata.commitObjects(objects, pendingCommit.walEnd()));
            for (WrittenPart part : pendingCommit.objects()) {
                catalog.register(part.metadata(), part.index());
                keys.settle(part.metadata().key());
            }
        }
        long walEnd = pendingCommit.walEnd();
        pendingCommit = null;
        for (SealedBlock block : taken) {
            logCache.markUploaded(block.id());
            block.close();
        }
        taken.clear();
        state.roomFreed(); // the blocks are evictable now
        trimWal(walEnd);
    }

    /** Trims the WAL up to {@code walEnd} (asynchronously); room is signalled when it is done. */
    private void trimWal(long walEnd) {
        trimRequested = Math.max(trimRequested, walEnd);
        wal.trim(walEnd).whenComplete((v, e) -> {
            if (e != null) {
                LOG.warn("WAL trim to {} failed", walEnd, e);
            }
            state.roomFreed(); // WAL space is reusable now
        });
    }

    /**
     * Writes the live streams' batches in {@code blocks}: each stream with at least
     * {@code streamObjectThresholdBytes} of data gets its own stream object, the rest share one
     * stream-set object. The objects are written in parallel on the writer threads; each stream is
     * in exactly one of them, so they can be committed together in any order.
     */
    private PendingCommit writeObjects(List<SealedBlock> takenBlocks, LongPredicate live, long walEnd) {
        List<SealedBlock> blocks = List.copyOf(takenBlocks); // the writers index into it; taken changes later
        Map<Long, StreamRows> byStream = new LinkedHashMap<>();
        Map<Long, Long> bytes = new HashMap<>();
        for (int b = 0; b < blocks.size(); b++) {
            SealedBlock block = blocks.get(b);
            for (int row = 0, rows = block.size(); row < rows; row++) {
                long streamId = block.streamId(row);
                if (live.test(streamId)) {
                    byStream.computeIfAbsent(streamId, id -> new StreamRows(blocks)).add(b, row, block.encodedBytes(row));
                }
            }
        }
        byStream.forEach((id, rows) -> bytes.put(id, rows.bytes()));
        List<Long> shared = new ArrayList<>();
        List<CompletableFuture<WrittenPart>> writes = new ArrayList<>();
        List<Long> streamIds = new ArrayList<>(byStream.keySet());
        streamIds.sort(Long::compare);
        for (long streamId : streamIds) {
            if (bytes.get(streamId) >= settings.streamObjectThresholdBytes()) {
                writes.add(startWrite(ObjectType.STREAM, List.of(streamId), byStream));
            } else {
                shared.add(streamId);
            }
        }
        for (List<Long> group : splitForParallelWrite(shared, bytes)) {
            writes.add(startWrite(ObjectType.STREAM_SET, group, byStream));
        }
        List<WrittenPart> parts = new ArrayList<>();
        Throwable failure = null;
        for (CompletableFuture<WrittenPart> write : writes) {
            try {
                parts.add(await(write));
            } catch (Throwable t) {
                failure = failure == null ? t : failure;
            }
        }
        if (failure != null) {
            for (WrittenPart part : parts) {
                keys.settle(part.metadata().key()); // written but never committed: an orphan for the sweep
            }
            throw failure instanceof RuntimeException r ? r : new java.util.concurrent.CompletionException(failure);
        }
        return new PendingCommit(parts, walEnd);
    }

    /**
     * The shared streams in as many stream-set objects as there are writer threads, when there is
     * enough data that writing it on one thread would be the upload's bottleneck (at least
     * {@link #PARALLEL_STREAM_SET_BYTES} per object); otherwise one object. Groups are runs of
     * streams in id order with about equal bytes.
     */
    static List<List<Long>> splitForParallelWrite(List<Long> shared, Map<Long, Long> bytes) {
        if (shared.isEmpty()) {
            return List.of();
        }
        long total = 0;
        for (long id : shared) {
            total += bytes.get(id);
        }
        int groups = (int) Math.max(1, Math.min(UPLOAD_WRITER_THREADS, total / PARALLEL_STREAM_SET_BYTES));
        List<List<Long>> out = new ArrayList<>();
        List<Long> group = new ArrayList<>();
        long groupBytes = 0;
        long perGroup = (total + groups - 1) / groups;
        for (long id : shared) {
            if (!group.isEmpty() && groupBytes >= perGroup && out.size() < groups - 1) {
                out.add(group);
                group = new ArrayList<>();
                groupBytes = 0;
            }
            group.add(id);
            groupBytes += bytes.get(id);
        }
        out.add(group);
        return out;
    }

    private CompletableFuture<WrittenPart> startWrite(ObjectType type, List<Long> streamIds,
            Map<Long, StreamRows> byStream) {
        String key = keys.allocate(type);
        long dataTime = clock.millis();
        return CompletableFuture.supplyAsync(() -> writeOne(key, type, streamIds, byStream, dataTime), writers);
    }

    /** Writes one object with {@code streamIds}' batches, in stream then offset order; runs on a writer thread. */
    private WrittenPart writeOne(String key, ObjectType type, List<Long> streamIds,
            Map<Long, StreamRows> byStream, long dataTimeMillis) {
        ObjectWriter writer = new ObjectWriter(storage.startUpload(key, PutCondition.none()), writerOptions);
        java.util.Set<Long> dataKeyIds = new java.util.TreeSet<>(); // of the encrypted batches: key-record GC keeps them
        try {
            for (long streamId : streamIds) {
                StreamRows rows = byStream.get(streamId);
                for (int i = 0; i < rows.size(); i++) {
                    // Waiting bounds memory to the writer's open block plus what the upload has in flight,
                    // and surfaces a failed part write here (a done-but-failed future too), so an object
                    // with a missing part is never finished and committed. The writer owns the view.
                    io.netty.buffer.ByteBuf data = rows.retainedData(i);
                    dev.strata.core.crypto.BatchCipher.collectDataKeyId(data, dataKeyIds);
                    await(writer.append(data));
                }
            }
            WrittenObject written = await(writer.finish());
            return new WrittenPart(describe(written, type, dataTimeMillis, recordDataKeys ? dataKeyIds : null),
                    written.index());
        } catch (Throwable t) {
            writer.abort();
            keys.settle(key); // never written whole: nothing to commit
            throw t;
        }
    }

    /**
     * The metadata of a written object: its stream ranges with the bytes of their blocks, and the
     * data keys its encrypted batches are sealed under.
     */
    public static ObjectMetadata describe(WrittenObject written, ObjectType type, long dataTimeMillis,
            java.util.Set<Long> dataKeyIds) {
        Map<Long, Long> bytes = new HashMap<>();
        for (dev.strata.objectstore.format.IndexEntry e : written.index().entries()) {
            bytes.merge(e.streamId(), (long) e.size(), Long::sum);
        }
        List<StreamRange> ranges = new ArrayList<>();
        for (dev.strata.objectstore.format.StreamRange r : written.streamRanges()) {
            ranges.add(new StreamRange(r.streamId(), r.startOffset(), r.endOffset(), bytes.getOrDefault(r.streamId(), 0L)));
        }
        ranges.sort((a, b) -> Long.compare(a.streamId(), b.streamId()));
        return new ObjectMetadata(written.key(), written.size(), type, ranges, dataTimeMillis, dataKeyIds);
    }

    /** Uploads what is left (bounded wait), then stops the thread and releases held blocks. */
    @Override
    public void close() {
        close(true, TimeUnit.SECONDS.toNanos(30));
    }

    /**
     * Stops the uploader; with {@code uploadFirst}, after one last upload of what is left, waiting
     * for it at most {@code maxWaitNanos}. Then (or without it) nothing more is written or trimmed:
     * the WAL keeps what was not committed for the next open. An upload still waiting for object
     * storage is interrupted; flushes not done fail with {@code StreamClosedException}.
     *
     * @return whether the final upload was asked for and did not finish in time (gave up)
     */
    public boolean close(boolean uploadFirst, long maxWaitNanos) {
        boolean gaveUp = false;
        if (fenced == null && uploadFirst) {
            try {
                flush().get(maxWaitNanos, TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                gaveUp = true;
                LOG.warn("final upload at close did not finish within {} ms (closeUploadTimeout); the WAL keeps the "
                        + "data for the next open", TimeUnit.NANOSECONDS.toMillis(maxWaitNanos));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                LOG.warn("final upload at close failed; the WAL keeps the data for the next open: {}", e.toString());
            }
        }
        executor.shutdownNow(); // interrupts an upload waiting for storage; drops queued ones
        writers.shutdownNow();
        boolean stopped = false;
        try {
            stopped = executor.awaitTermination(CLOSE_STOP_SECONDS, TimeUnit.SECONDS)
                    & writers.awaitTermination(CLOSE_STOP_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (CompletableFuture<Void> f : flushes) {
            f.completeExceptionally(new dev.strata.api.StreamClosedException("store closed before the flush ran"));
        }
        if (stopped) { // else the upload thread still owns them: releasing them here would race with it
            for (SealedBlock block : taken) {
                block.close();
            }
            taken.clear();
        } else {
            LOG.warn("upload threads did not stop within {} s of close", CLOSE_STOP_SECONDS);
        }
        return gaveUp;
    }
}
