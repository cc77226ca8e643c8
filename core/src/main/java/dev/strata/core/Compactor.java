package dev.strata.core;

import dev.strata.api.CorruptDataException;
import dev.strata.api.StreamFencedException;
import dev.strata.core.metadata.MetadataStore;
import dev.strata.core.metadata.ObjectMetadata;
import dev.strata.core.metadata.ObjectType;
import dev.strata.core.metadata.StreamMetadata;
import dev.strata.core.metadata.StreamRange;
import dev.strata.objectstore.IncompleteUpload;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectKeys;
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
import java.util.ArrayDeque;
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
 * Compaction and garbage collection of committed objects.
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
 *   <li>Delete replaced objects whose grace period ended (batched; a failed delete is retried next
 *       cycle).</li>
 *   <li>Sweep orphans: list the store; an object that is neither committed, nor being written
 *       ({@link ObjectKeyAllocator}), nor waiting out its grace period, and stays so for the orphan
 *       TTL, is deleted, after a {@link MetadataStore#deleteOrphans} change proved this process
 *       still owns the store (a fenced process never deletes the new owner's uploads).</li>
 *   <li>Abort abandoned uploads: S3 multipart uploads and local temporary files of uploads cut off
 *       by a crash, untouched for the orphan TTL, again only after a {@link MetadataStore#deleteOrphans}
 *       change proved ownership ({@link #abortIncompleteUploads}).</li>
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
final class Compactor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Compactor.class);

    /** Longest wait for a running upload before a compaction read goes ahead anyway. */
    private static final long MAX_YIELD_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** A replaced object and when it was replaced. */
    private record Garbage(String key, long sizeBytes, long replacedAtMillis) {
    }

    private final DefaultStreamStore store;
    private final ObjectStorage storage;
    private final MetadataStore metadata;
    private final ObjectKeyAllocator keys;
    private final CompactionConfig config;
    private final Clock clock;
    private final CompactionPlanner planner;
    private final ObjectWriterOptions writerOptions;
    private final ByteRateLimiter limiter;
    private final ScheduledExecutorService executor;

    // confined to the compaction thread
    private final ArrayDeque<Garbage> garbage = new ArrayDeque<>();
    private final Map<String, Long> orphanFirstSeen = new HashMap<>();
    private final Set<String> quarantined = new HashSet<>();

    // read by summary() from any thread
    private volatile long garbageObjects;
    private volatile long garbageBytes;
    private final AtomicLong bytesRewritten = new AtomicLong();
    private final AtomicLong objectsDeleted = new AtomicLong();
    private volatile boolean stopped;
    /** The summary as of the end of the last cycle (for gauges); null before the first. */
    private volatile StorageSummary lastSummary;

    Compactor(DefaultStreamStore store, ObjectStorage storage, MetadataStore metadata, ObjectKeyAllocator keys,
            CompactionConfig config, int objectBlockBytes, Clock clock) {
        this.store = store;
        this.storage = storage;
        this.metadata = metadata;
        this.keys = keys;
        this.config = config;
        this.clock = clock;
        this.planner = new CompactionPlanner(config.planner());
        this.writerOptions = ObjectWriterOptions.builder().blockSizeBytes(objectBlockBytes).build();
        this.limiter = config.bytesPerSecond() > 0 ? new ByteRateLimiter(config.bytesPerSecond(), System::nanoTime) : null;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "strata-compaction");
            t.setDaemon(true);
            t.setPriority(Thread.MIN_PRIORITY);
            return t;
        });
    }

    /** Starts the scheduled cycles (none if the interval is zero). */
    void start() {
        long intervalNanos = config.interval().toNanos();
        if (intervalNanos > 0) {
            executor.scheduleWithFixedDelay(this::cycleQuietly, intervalNanos, intervalNanos, TimeUnit.NANOSECONDS);
        }
    }

    /** Runs one cycle now, after any running one. */
    CompletableFuture<CompactionReport> runNow() {
        CompletableFuture<CompactionReport> done = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                try {
                    done.complete(cycle());
                } catch (Throwable t) {
                    done.completeExceptionally(DefaultStreamStore.unwrap(t));
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
            LOG.warn("compaction cycle failed (next cycle retries): {}", DefaultStreamStore.unwrap(t).toString());
        }
    }

    private CompactionReport cycle() {
        long start = System.nanoTime();
        if (store.fencedBy() != null) {
            throw new StreamFencedException("store fenced by a newer process; compaction stopped", store.fencedBy());
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
                store.metrics().compactionTaskCommitted(task.inputs().size(), outputs, taskBytes[0], taskBytes[1]);
                written += outputs;
                replaced += task.inputs().size();
                bytes[0] += taskBytes[0];
                bytes[1] += taskBytes[1];
                run++;
            } catch (Throwable t) {
                Throwable cause = DefaultStreamStore.unwrap(t);
                store.metrics().compactionTaskFailed();
                failed++;
                if (cause instanceof StreamFencedException) {
                    store.fence(cause);
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
        int deleted = collectGarbage();
        int orphans = sweepOrphans();
        abortIncompleteUploads();
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
                WrittenObject w = write(planned, readers, bytes);
                outputs.add(Uploader.describe(w, planned.type(), planned.dataTimeMillis()));
                indexes.add(w.index());
                bytes[1] += w.size();
                bytesRewritten.addAndGet(w.size());
            }
            checkOutputs(task, outputs);
            metadata.replaceObjects(keysOf(task.inputs()), outputs).join();
        } finally {
            for (ObjectMetadata o : outputs) {
                keys.settle(o.key()); // committed, or (on failure) an orphan for the sweep
            }
        }
        for (int i = 0; i < outputs.size(); i++) {
            store.registerObject(outputs.get(i), indexes.get(i));
        }
        long now = clock.millis();
        for (ObjectMetadata o : task.inputs()) {
            garbage.add(new Garbage(o.key(), o.sizeBytes(), now));
        }
        updateGarbageTotals();
        return outputs.size();
    }

    /** Writes one planned object: each piece's batches, in stream then offset order. */
    private WrittenObject write(CompactionPlanner.PlannedObject planned, Map<String, ObjectReader> readers, long[] bytes) {
        String key = keys.allocate(planned.type());
        ObjectWriter writer = new ObjectWriter(storage.startUpload(key, PutCondition.none()), writerOptions);
        try {
            for (CompactionPlanner.Piece piece : planned.pieces()) {
                for (ObjectMetadata source : piece.sources()) {
                    copy(piece, source, readers, writer, bytes);
                }
            }
            return writer.finish().join();
        } catch (Throwable t) {
            writer.abort();
            keys.settle(key); // never finished: an orphan at most
            throw t;
        }
    }

    /** Appends the batches of {@code piece} held by {@code source} to {@code writer}. */
    private void copy(CompactionPlanner.Piece piece, ObjectMetadata source, Map<String, ObjectReader> readers,
            ObjectWriter writer, long[] bytes) {
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
            if (store.uploader().awaitIdle(MAX_YIELD_NANOS)) {
                store.metrics().compactionYielded("upload");
            }
            if (store.awaitNoCatchUpReads(MAX_YIELD_NANOS)) {
                store.metrics().compactionYielded("read");
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

    /** Deletes replaced objects whose grace period ended; returns how many. */
    private int collectGarbage() {
        long cutoff = clock.millis() - config.gracePeriod().toMillis();
        List<Garbage> due = new ArrayList<>();
        for (Garbage g : garbage) {
            if (g.replacedAtMillis() <= cutoff) {
                due.add(g);
            }
        }
        if (due.isEmpty()) {
            return 0;
        }
        List<String> dueKeys = new ArrayList<>();
        for (Garbage g : due) {
            dueKeys.add(g.key());
        }
        try {
            storage.delete(dueKeys).join();
        } catch (Throwable t) {
            LOG.warn("deleting {} replaced objects failed (retried next cycle): {}", dueKeys.size(),
                    DefaultStreamStore.unwrap(t).toString());
            return 0;
        }
        garbage.removeAll(due);
        updateGarbageTotals();
        for (String key : dueKeys) {
            store.forgetObject(key);
        }
        objectsDeleted.addAndGet(dueKeys.size());
        store.metrics().objectsDeleted(dueKeys.size(), false);
        return dueKeys.size();
    }

    /** Deletes objects no one references for longer than the orphan TTL; returns how many. */
    private int sweepOrphans() {
        List<ObjectInfo> listed;
        try {
            listed = storage.list("").join();
        } catch (Throwable t) {
            LOG.warn("listing the object store for orphans failed (retried next cycle): {}",
                    DefaultStreamStore.unwrap(t).toString());
            return 0;
        }
        long now = clock.millis();
        Set<String> candidates = new HashSet<>();
        for (ObjectInfo info : listed) {
            // in-flight first: a key settles only after its commit applied, so the committed set read below sees it
            if (ObjectKeys.parseObjectId(info.key()) >= 0 && !keys.isInFlight(info.key())) {
                candidates.add(info.key());
            }
        }
        for (ObjectMetadata o : metadata.objects()) {
            candidates.remove(o.key());
        }
        for (Garbage g : garbage) {
            candidates.remove(g.key());
        }
        orphanFirstSeen.keySet().retainAll(candidates);
        List<String> due = new ArrayList<>();
        for (String key : candidates) {
            long firstSeen = orphanFirstSeen.computeIfAbsent(key, k -> now);
            if (now - firstSeen >= config.orphanTtl().toMillis()) {
                due.add(key);
            }
        }
        if (due.isEmpty()) {
            return 0;
        }
        due.sort(null);
        // the metadata change fails if a newer process owns the store, or if one of them got committed
        if (!deleteAsOwner(due, () -> storage.delete(due), "deleting " + due.size() + " orphan objects")) {
            return 0;
        }
        orphanFirstSeen.keySet().removeAll(due);
        objectsDeleted.addAndGet(due.size());
        store.metrics().objectsDeleted(due.size(), true);
        LOG.info("deleted {} orphan objects (uploaded or replaced but not referenced for {} ms or more)", due.size(),
                config.orphanTtl().toMillis());
        return due.size();
    }

    /**
     * Deletes from the object store as its owner: first a {@link MetadataStore#deleteOrphans} change
     * for {@code orphanKeys} (it fails if a newer process owns the store, or if one of the keys got
     * committed), then {@code delete}. A fenced store stops ({@link StreamFencedException} is
     * rethrown after fencing the store); any other failure is logged and the caller retries next
     * cycle. Returns whether both steps succeeded.
     */
    private boolean deleteAsOwner(List<String> orphanKeys, java.util.function.Supplier<CompletableFuture<Void>> delete,
            String what) {
        try {
            metadata.deleteOrphans(orphanKeys).join();
            delete.get().join();
            return true;
        } catch (Throwable t) {
            Throwable cause = DefaultStreamStore.unwrap(t);
            if (cause instanceof StreamFencedException) {
                store.fence(cause);
                throw (StreamFencedException) cause;
            }
            LOG.warn("{} failed (retried next cycle): {}", what, cause.toString());
            return false;
        }
    }

    /**
     * Aborts uploads abandoned for at least the orphan TTL: S3 multipart uploads of this store's
     * object keys and local temporary files left by a process killed mid-upload
     * ({@link ObjectStorage#listIncompleteUploads}); uploads of other keys (another writer sharing the
     * bucket) are never touched. The
     * storage never lists its own uploads in progress, and keys this process is writing are skipped
     * too. Age: an upload's start (S3 "Initiated") or, for a local temporary file, its last
     * modification, against this store's clock (so a file still being written never ages). As for
     * orphans, a {@link MetadataStore#deleteOrphans} change first proves this process still owns the
     * store: a fenced process aborts nothing. Returns how many were aborted.
     */
    private int abortIncompleteUploads() {
        List<IncompleteUpload> listed;
        try {
            listed = storage.listIncompleteUploads().join();
        } catch (Throwable t) {
            LOG.warn("listing incomplete uploads failed (retried next cycle): {}", DefaultStreamStore.unwrap(t).toString());
            return 0;
        }
        long cutoff = clock.millis() - config.orphanTtl().toMillis();
        List<IncompleteUpload> due = new ArrayList<>();
        for (IncompleteUpload u : listed) {
            // Only uploads of this store's objects: other writers may share the bucket or the prefix (a
            // store under a longer prefix, a backup tool), and their uploads are not ours to abort.
            boolean ours = u.key() == null || ObjectKeys.parseObjectId(u.key()) >= 0;
            if (ours && u.startedAt().toEpochMilli() <= cutoff && (u.key() == null || !keys.isInFlight(u.key()))) {
                due.add(u);
            }
        }
        if (due.isEmpty()) {
            return 0;
        }
        if (!deleteAsOwner(List.of(), () -> storage.abortIncompleteUploads(due),
                "aborting " + due.size() + " incomplete uploads")) {
            return 0;
        }
        LOG.info("aborted {} incomplete uploads (multipart uploads or temporary files untouched for {} ms or more)",
                due.size(), config.orphanTtl().toMillis());
        return due.size();
    }

    private void updateGarbageTotals() {
        long n = 0;
        long b = 0;
        for (Garbage g : garbage) {
            n++;
            b += g.sizeBytes();
        }
        garbageObjects = n;
        garbageBytes = b;
    }

    /** The summary as of the last cycle's end (computed now if no cycle ran yet). */
    StorageSummary lastSummary() {
        StorageSummary s = lastSummary;
        return s != null ? s : summary();
    }

    /** The storage summary, from the local metadata view; any thread, no I/O. */
    StorageSummary summary() {
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
        return new StorageSummary(objects.size(), sso, objects.size() - sso, stored, live, garbageObjects, garbageBytes,
                backlogObjects, backlogBytes, bytesRewritten.get(), objectsDeleted.get(), requests);
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
    void close(long timeoutNanos) {
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
