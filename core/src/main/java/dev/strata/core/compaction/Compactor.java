package dev.strata.core.compaction;

import dev.strata.core.CompactionReport;
import dev.strata.core.StorageSummary;
import dev.strata.core.metrics.StoreMetrics;
import dev.strata.core.upload.ObjectKeyAllocator;
import dev.strata.core.upload.Uploader;
import dev.strata.core.read.ObjectCatalog;
import dev.strata.core.support.StoreState;
import dev.strata.core.support.Futures;
import dev.strata.core.support.ThreadScheduling;
import dev.strata.api.CorruptDataException;
import dev.strata.api.StreamFencedException;
import dev.strata.core.metadata.MetadataStore;
import dev.strata.core.metadata.ObjectMetadata;
import dev.strata.core.metadata.ObjectType;
import dev.strata.core.metadata.StreamMetadata;
import dev.strata.core.metadata.StreamRange;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.PutCondition;
import dev.strata.objectstore.format.DataBlock;
import dev.strata.objectstore.format.IndexEntry;
import dev.strata.objectstore.format.ObjectIndex;
import dev.strata.objectstore.format.ObjectReader;
import dev.strata.objectstore.format.ObjectWriter;
import dev.strata.objectstore.format.ObjectWriterOptions;
import dev.strata.objectstore.format.StreamBatch;
import dev.strata.objectstore.format.WrittenObject;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compaction of committed objects, and the schedule of garbage collection ({@link GarbageCollector}).
 *
 * <h2>One cycle</h2>
 * <ol>
 *   <li>Plan ({@link CompactionPlanner}) from the metadata: drop dead objects, split stream-set
 *       objects, merge small stream objects.</li>
 *   <li>Run each task: read the inputs' blocks of each planned piece (ranged GETs, not through the
 *       block cache, throttled by {@link ByteRateLimiter}, at most one read chunk in memory), write
 *       the outputs with {@link ObjectWriter} (streamed), then commit one
 *       {@link MetadataStore#replaceObjects} change: readers see the old objects or the new ones,
 *       never a mix. Outputs are complete before the commit, so a crash at any point leaves the old
 *       set (outputs are then orphans) or the new set (inputs are then garbage).</li>
 *   <li>Collect garbage ({@link GarbageCollector}): delete replaced objects whose grace period
 *       ended, sweep orphans, abort abandoned uploads.</li>
 * </ol>
 *
 * <h2>Yielding</h2>
 * Before each read chunk the compactor waits (at most a second each) while an upload is running and
 * while users' catch-up reads from objects are in flight, and its reads are rate-limited; it runs on
 * one low-priority thread, "strata-compaction", apart from the append, upload and read threads, and
 * reads around the block cache (it never evicts what readers cached).
 *
 * <h2>Failure</h2>
 * A failed task leaves the metadata as it was; its outputs become orphans. An input found corrupt
 * ({@link CorruptDataException}) is excluded from later plans and logged, never rewritten. A fenced
 * commit fences the store and stops compaction.
 *
 * <p>Thread-safety: all work runs on the compaction thread; {@link #summary()} may be called from any
 * thread.
 */
public final class Compactor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Compactor.class);

    /** Longest wait for a running upload before a compaction read goes ahead anyway. */
    private static final long MAX_YIELD_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** Where committed replaces are reported. */
    private final dev.strata.core.audit.AuditLog audit;
    private final Foreground foreground;
    private final ObjectCatalog catalog;
    private final StoreState state;
    private final StoreMetrics metrics;
    private final GarbageCollector gc;
    private final ObjectStorage storage;
    private final MetadataStore metadata;
    private final ObjectKeyAllocator keys;
    private final CompactionSettings config;
    private final Clock clock;
    private final CompactionPlanner planner;
    private final ObjectWriterOptions writerOptions;
    private final ByteRateLimiter limiter;
    /** Whether compacted objects record their encrypted batches' data keys (a store with encryption). */
    private final boolean recordDataKeys;
    private final ScheduledExecutorService executor;

    // confined to the compaction thread
    private final Set<String> quarantined = new HashSet<>();

    // read by summary() from any thread
    private final AtomicLong bytesRewritten = new AtomicLong();
    private volatile boolean stopped;
    /** The summary as of the end of the last cycle (for gauges); null before the first. */
    private volatile StorageSummary lastSummary;

    /**
     * @param foreground what to let go first before each read
     * @param catalog told about every object committed or deleted
     * @param state read for fencing, and fenced when a newer process owns the store
     */
    public Compactor(CompactionSettings config, Foreground foreground, ObjectCatalog catalog, StoreState state,
            StoreMetrics metrics, ObjectStorage storage, MetadataStore metadata, ObjectKeyAllocator keys, Clock clock,
            dev.strata.core.audit.AuditLog audit) {
        this(config, foreground, catalog, state, metrics, storage, metadata, keys, clock, audit, null);
    }

    /**
     * @param keyring the store's data keys: with encryption enabled, compacted objects record their
     *     batches' data keys and garbage collection deletes the key records no live object needs;
     *     null or disabled: neither
     */
    public Compactor(CompactionSettings config, Foreground foreground, ObjectCatalog catalog, StoreState state,
            StoreMetrics metrics, ObjectStorage storage, MetadataStore metadata, ObjectKeyAllocator keys, Clock clock,
            dev.strata.core.audit.AuditLog audit, dev.strata.core.crypto.TenantKeyring keyring) {
        this.recordDataKeys = keyring != null && keyring.enabled();
        this.audit = audit;
        this.foreground = foreground;
        this.catalog = catalog;
        this.state = state;
        this.metrics = metrics;
        this.gc = new GarbageCollector(storage, metadata, keys, config.gracePeriod(), config.orphanTtl(), clock, catalog,
                state, metrics, audit, recordDataKeys ? keyring : null);
        this.storage = storage;
        this.metadata = metadata;
        this.keys = keys;
        this.config = config;
        this.clock = clock;
        this.planner = new CompactionPlanner(config.planner());
        this.writerOptions = ObjectWriterOptions.builder().blockSizeBytes(config.objectBlockBytes()).build();
        this.limiter = config.bytesPerSecond() > 0 ? new ByteRateLimiter(config.bytesPerSecond(), System::nanoTime) : null;
        this.executor = Executors.newSingleThreadScheduledExecutor(
                ThreadScheduling.daemonThread("strata-compaction", config.cpuPriority()));
    }

    /** Starts the scheduled cycles (none if the interval is zero). */
    public void start() {
        long intervalNanos = config.interval().toNanos();
        if (intervalNanos > 0) {
            executor.scheduleWithFixedDelay(this::cycleQuietly, intervalNanos, intervalNanos, TimeUnit.NANOSECONDS);
        }
    }

    /** Runs one cycle now, after any running one. */
    public CompletableFuture<CompactionReport> runNow() {
        CompletableFuture<CompactionReport> done = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                try {
                    done.complete(cycle());
                } catch (Throwable t) {
                    done.completeExceptionally(Futures.unwrap(t));
                }
            });
        } catch (RejectedExecutionException e) {
            done.completeExceptionally(new dev.strata.api.StreamClosedException("store closed"));
        }
        return done;
    }

    private void cycleQuietly() {
        try {
            CompactionReport r = cycle();
            if (r.tasksRun() + r.tasksFailed() + r.objectsDeleted() > 0) {
                LOG.info("compaction: {}", r);
            }
        } catch (Throwable t) {
            LOG.warn("compaction cycle failed (next cycle retries): {}", Futures.unwrap(t).toString());
        }
    }

    private CompactionReport cycle() {
        long start = System.nanoTime();
        if (state.fencedBy() != null) {
            throw new StreamFencedException("store fenced by a newer process; compaction stopped", state.fencedBy());
        }
        int run = 0;
        int failed = 0;
        int replaced = 0;
        int written = 0;
        long[] bytes = new long[2]; // read, written
        // Objects before streams: every stream an object in the snapshot holds then appears in the stream
        // snapshot (unless deleted since), so no live stream's data is mistaken for a deleted stream's.
        List<ObjectMetadata> objects = new ArrayList<>(metadata.objects());
        List<StreamMetadata> streams = metadata.streams();
        for (CompactionPlanner.Task task : planner.plan(streams, objects, clock.millis(), quarantined)) {
            if (stopped) {
                break;
            }
            try {
                long[] taskBytes = new long[2];
                int outputs = runTask(task, taskBytes);
                metrics.compactionTaskCommitted(task.inputs().size(), outputs, taskBytes[0], taskBytes[1]);
                written += outputs;
                replaced += task.inputs().size();
                bytes[0] += taskBytes[0];
                bytes[1] += taskBytes[1];
                run++;
            } catch (Throwable t) {
                Throwable cause = Futures.unwrap(t);
                metrics.compactionTaskFailed();
                failed++;
                if (cause instanceof StreamFencedException) {
                    state.fence(cause);
                    throw (StreamFencedException) cause;
                }
                if (cause instanceof CorruptDataException) {
                    for (ObjectMetadata o : task.inputs()) {
                        quarantined.add(o.key());
                    }
                    LOG.error("compaction found corrupt data; its input objects are left alone from now on: task={} inputs={}",
                            task.kind(), keysOf(task.inputs()), cause);
                    continue;
                }
                LOG.warn("compaction task {} failed (retried next cycle): {}", task.kind(), cause.toString());
                break; // the object store is probably failing: the next cycle tries again
            }
        }
        int deleted = gc.collect();
        int orphans = gc.sweepOrphans();
        gc.collectKeyRecords();
        gc.abortIncompleteUploads();
        lastSummary = summary();
        return new CompactionReport(run, failed, replaced, written, bytes[0], bytes[1], deleted + orphans, orphans,
                System.nanoTime() - start);
    }

    /** Writes the task's outputs, commits the replace, queues the inputs as garbage; returns the outputs written. */
    private int runTask(CompactionPlanner.Task task, long[] bytes) {
        List<ObjectMetadata> outputs = new ArrayList<>();
        List<ObjectIndex> indexes = new ArrayList<>();
        Map<String, ObjectReader> readers = new HashMap<>();
        try {
            for (CompactionPlanner.PlannedObject planned : task.outputs()) {
                java.util.Set<Long> dataKeyIds = new java.util.TreeSet<>();
                WrittenObject w = write(planned, readers, bytes, dataKeyIds);
                outputs.add(Uploader.describe(w, planned.type(), planned.dataTimeMillis(), recordDataKeys ? dataKeyIds : null));
                indexes.add(w.index());
                bytes[1] += w.size();
                bytesRewritten.addAndGet(w.size());
            }
            checkOutputs(task, outputs);
            metadata.replaceObjects(keysOf(task.inputs()), outputs).join();
            audit.emit(dev.strata.core.AuditEvent.Type.OBJECTS_REPLACED, -1, java.util.Optional.empty(),
                    java.util.Optional.empty(), java.util.Map.of("removed", Integer.toString(task.inputs().size()),
                            "added", Integer.toString(outputs.size()), "removedKeys", String.join(",", keysOf(task.inputs())),
                            "addedKeys", String.join(",", keysOf(outputs))));
        } finally {
            for (ObjectMetadata o : outputs) {
                keys.settle(o.key()); // committed, or (on failure) an orphan for the sweep
            }
        }
        for (int i = 0; i < outputs.size(); i++) {
            catalog.register(outputs.get(i), indexes.get(i));
        }
        gc.replaced(task.inputs(), clock.millis());
        return outputs.size();
    }

    /** Writes one planned object: each piece's batches, in stream then offset order. */
    private WrittenObject write(CompactionPlanner.PlannedObject planned, Map<String, ObjectReader> readers, long[] bytes,
            java.util.Set<Long> dataKeyIds) {
        String key = keys.allocate(planned.type());
        ObjectWriter writer = new ObjectWriter(storage.startUpload(key, PutCondition.none()), writerOptions);
        try {
            for (CompactionPlanner.Piece piece : planned.pieces()) {
                for (ObjectMetadata source : piece.sources()) {
                    copy(piece, source, readers, writer, bytes, dataKeyIds);
                }
            }
            return writer.finish().join();
        } catch (Throwable t) {
            writer.abort();
            keys.settle(key); // never finished: an orphan at most
            throw t;
        }
    }

    /** Appends the batches of {@code piece} held by {@code source} to {@code writer}; adds their data keys to {@code dataKeyIds}. */
    private void copy(CompactionPlanner.Piece piece, ObjectMetadata source, Map<String, ObjectReader> readers,
            ObjectWriter writer, long[] bytes, java.util.Set<Long> dataKeyIds) {
        ObjectReader reader = readers.get(source.key());
        if (reader == null) {
            reader = ObjectReader.open(storage, source.key(), source.sizeBytes()).join();
            readers.put(source.key(), reader);
        }
        ObjectIndex index = reader.index();
        int block = index.findBlockAtOrAfter(piece.streamId(), piece.startOffset());
        while (block >= 0 && block < index.size()) {
            // one chunk: adjacent blocks of the stream, up to the read chunk size
            int from = block;
            long chunk = 0;
            while (block < index.size()) {
                IndexEntry e = index.entry(block);
                if (e.streamId() != piece.streamId() || e.startOffset() >= piece.endOffset()
                        || (block > from && chunk + e.size() > config.readChunkBytes())) {
                    break;
                }
                chunk += e.size();
                block++;
            }
            if (block == from) {
                return;
            }
            if (foreground.awaitUploadIdle(MAX_YIELD_NANOS)) {
                metrics.compactionYielded("upload");
            }
            if (foreground.awaitNoCatchUpReads(MAX_YIELD_NANOS)) {
                metrics.compactionYielded("read");
            }
            if (limiter != null) {
                limiter.acquire(chunk);
            }
            List<DataBlock> blocks = reader.readBlocks(from, block).join();
            bytes[0] += chunk;
            try {
                for (DataBlock b : blocks) {
                    for (StreamBatch batch : b.batches()) {
                        if (batch.nextOffset() <= piece.startOffset()) {
                            continue; // below the start offset: dropped
                        }
                        if (batch.baseOffset() >= piece.endOffset()) {
                            break;
                        }
                        dev.strata.core.crypto.BatchCipher.collectDataKeyId(batch.encoded(), dataKeyIds);
                        writer.append(batch.encoded().retainedSlice()).join(); // bounds what the upload holds
                    }
                }
            } finally {
                for (DataBlock b : blocks) {
                    b.release();
                }
            }
        }
    }

    /** Every output holds exactly the planned pieces' ends (a defence against a planner or reader bug). */
    private static void checkOutputs(CompactionPlanner.Task task, List<ObjectMetadata> outputs) {
        for (int i = 0; i < outputs.size(); i++) {
            for (CompactionPlanner.Piece piece : task.outputs().get(i).pieces()) {
                StreamRange r = outputs.get(i).range(piece.streamId());
                if (r == null || r.endOffset() != piece.endOffset() || r.startOffset() > piece.startOffset()) {
                    throw new IllegalStateException("compaction output " + outputs.get(i).key() + " holds " + r
                            + ", planned " + piece);
                }
            }
        }
    }

    /** The summary as of the last cycle's end (computed now if no cycle ran yet). */
    public StorageSummary lastSummary() {
        StorageSummary s = lastSummary;
        return s != null ? s : summary();
    }

    /** The storage summary, from the local metadata view; any thread, no I/O. */
    public StorageSummary summary() {
        List<ObjectMetadata> objects = new ArrayList<>(metadata.objects()); // before streams: see cycle()
        List<StreamMetadata> streams = metadata.streams();
        Map<Long, StreamMetadata> byId = new HashMap<>();
        for (StreamMetadata s : streams) {
            byId.put(s.streamId(), s);
        }
        long sso = 0;
        long stored = 0;
        long live = 0;
        for (ObjectMetadata o : objects) {
            sso += o.type() == ObjectType.STREAM_SET ? 1 : 0;
            stored += o.sizeBytes();
            for (StreamRange r : o.ranges()) {
                live += CompactionPlanner.liveBytes(r, byId.get(r.streamId()));
            }
        }
        long backlogObjects = 0;
        long backlogBytes = 0;
        for (CompactionPlanner.Task task : planner.plan(streams, objects, clock.millis(), Set.of())) {
            backlogObjects += task.inputs().size();
            backlogBytes += task.inputBytes();
        }
        Map<Operation, Long> requests = new EnumMap<>(Operation.class);
        storage.metrics().snapshot().forEach((op, stats) -> requests.put(op, stats.requests()));
        return new StorageSummary(objects.size(), sso, objects.size() - sso, stored, live, gc.garbageObjects(),
                gc.garbageBytes(), backlogObjects, backlogBytes, bytesRewritten.get(), gc.objectsDeleted(), requests);
    }

    private static List<String> keysOf(List<ObjectMetadata> objects) {
        List<String> out = new ArrayList<>(objects.size());
        for (ObjectMetadata o : objects) {
            out.add(o.key());
        }
        return out;
    }

    /** Stops the thread; a running task's outputs become orphans if it had not committed. */
    @Override
    public void close() {
        close(TimeUnit.SECONDS.toNanos(30));
    }

    /**
     * Stops compaction, waiting at most {@code timeoutNanos} for a running cycle (it is interrupted;
     * a cycle stuck on an object store that does not answer goes on after this returns and fails
     * once its storage answers or closes: a task that has not committed leaves only orphans).
     */
    public void close(long timeoutNanos) {
        stopped = true;
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(timeoutNanos, TimeUnit.NANOSECONDS)) {
                LOG.warn("compaction did not stop within {} ms of close (the object store does not answer?); closing"
                        + " without it", TimeUnit.NANOSECONDS.toMillis(timeoutNanos));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
