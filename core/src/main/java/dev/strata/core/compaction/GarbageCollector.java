package dev.strata.core.compaction;

import dev.strata.core.metrics.StoreMetrics;
import dev.strata.core.upload.ObjectKeyAllocator;
import dev.strata.core.read.ObjectCatalog;
import dev.strata.core.support.StoreState;
import dev.strata.core.support.Futures;
import dev.strata.api.StreamFencedException;
import dev.strata.core.metadata.MetadataStore;
import dev.strata.core.metadata.ObjectMetadata;
import dev.strata.objectstore.IncompleteUpload;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectKeys;
import dev.strata.objectstore.ObjectStorage;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Garbage collection of objects, run by the {@link Compactor} at the end of each cycle:
 * <ol>
 *   <li>Delete replaced objects whose grace period ended (batched; a failed delete is retried next
 *       cycle): {@link #collect}.</li>
 *   <li>Sweep orphans: list the store; an object that is neither committed, nor being written
 *       ({@link ObjectKeyAllocator}), nor waiting out its grace period, and stays so for the orphan
 *       TTL, is deleted, after a {@link MetadataStore#deleteOrphans} change proved this process
 *       still owns the store (a fenced process never deletes the new owner's uploads):
 *       {@link #sweepOrphans}.</li>
 *   <li>Abort abandoned uploads: S3 multipart uploads and local temporary files of uploads cut off
 *       by a crash, untouched for the orphan TTL, again only after a {@link MetadataStore#deleteOrphans}
 *       change proved ownership: {@link #abortIncompleteUploads}.</li>
 * </ol>
 *
 * <p>Thread-safety: the work runs on the compaction thread; the totals ({@link #garbageObjects},
 * {@link #garbageBytes}, {@link #objectsDeleted}) may be read from any thread.
 */
public final class GarbageCollector {
    private static final Logger LOG = LoggerFactory.getLogger(GarbageCollector.class);

    /** A replaced object and when it was replaced. */
    private record Garbage(String key, long sizeBytes, long replacedAtMillis, ObjectMetadata object) {
    }

    /** Where deletions are reported. */
    private final dev.strata.core.audit.AuditLog audit;
    /** The store's data keys, whose unneeded key records are deleted; null without encryption. */
    private final dev.strata.core.crypto.TenantKeyring keyring;
    private final ObjectStorage storage;
    private final MetadataStore metadata;
    private final ObjectKeyAllocator keys;
    private final java.time.Duration gracePeriod;
    private final java.time.Duration orphanTtl;
    private final Clock clock;
    private final ObjectCatalog catalog;
    private final StoreState state;
    private final StoreMetrics metrics;

    // confined to the compaction thread
    private final ArrayDeque<Garbage> garbage = new ArrayDeque<>();
    private final Map<String, Long> orphanFirstSeen = new HashMap<>();

    // read from any thread
    private volatile long garbageObjects;
    private volatile long garbageBytes;
    private final AtomicLong objectsDeleted = new AtomicLong();

    /**
     * @param catalog told to forget every object deleted
     * @param state fenced when a newer process owns the store
     */
    public GarbageCollector(ObjectStorage storage, MetadataStore metadata, ObjectKeyAllocator keys,
            java.time.Duration gracePeriod, java.time.Duration orphanTtl, Clock clock, ObjectCatalog catalog,
            StoreState state, StoreMetrics metrics, dev.strata.core.audit.AuditLog audit) {
        this(storage, metadata, keys, gracePeriod, orphanTtl, clock, catalog, state, metrics, audit, null);
    }

    /** @param keyring whose key records no live object needs are deleted ({@link #collectKeyRecords}); null: none */
    public GarbageCollector(ObjectStorage storage, MetadataStore metadata, ObjectKeyAllocator keys,
            java.time.Duration gracePeriod, java.time.Duration orphanTtl, Clock clock, ObjectCatalog catalog,
            StoreState state, StoreMetrics metrics, dev.strata.core.audit.AuditLog audit,
            dev.strata.core.crypto.TenantKeyring keyring) {
        this.keyring = keyring;
        this.audit = audit;
        this.storage = storage;
        this.metadata = metadata;
        this.keys = keys;
        this.gracePeriod = gracePeriod;
        this.orphanTtl = orphanTtl;
        this.clock = clock;
        this.catalog = catalog;
        this.state = state;
        this.metrics = metrics;
    }

    /** Queues objects a committed replace took out of the metadata; deleted once their grace period ended. */
    void replaced(List<ObjectMetadata> objects, long nowMillis) {
        for (ObjectMetadata o : objects) {
            garbage.add(new Garbage(o.key(), o.sizeBytes(), nowMillis, o));
        }
        updateGarbageTotals();
    }

    private void emitDeleted(List<String> keys, String why) {
        audit.emit(dev.strata.core.AuditEvent.Type.GARBAGE_DELETED, -1, java.util.Optional.empty(), java.util.Optional.empty(),
                java.util.Map.of("deleted", Integer.toString(keys.size()), "reason", why, "keys", String.join(",", keys)));
    }

    /** Deletes replaced objects whose grace period ended; returns how many. */
    int collect() {
        long cutoff = clock.millis() - gracePeriod.toMillis();
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
                    Futures.unwrap(t).toString());
            return 0;
        }
        garbage.removeAll(due);
        updateGarbageTotals();
        for (String key : dueKeys) {
            catalog.forgetObject(key);
        }
        objectsDeleted.addAndGet(dueKeys.size());
        metrics.objectsDeleted(dueKeys.size(), false);
        emitDeleted(dueKeys, "replaced");
        return dueKeys.size();
    }

    /**
     * Deletes the key records (client-side encryption) whose data key protects no live data any more:
     * no committed object, and no replaced object still in its grace period, names it
     * ({@link ObjectMetadata#dataKeyIds()}), and this process did not make it (its WAL and log cache
     * may hold batches under it that no object holds yet; data replayed from an earlier process's WAL
     * is committed before compaction starts). A tenant is left alone while an object whose data keys
     * are unknown (written by a store without encryption, or before objects recorded them) holds one
     * of its live streams. Emits {@link dev.strata.core.AuditEvent.Type#KEY_RECORDS_DELETED} per
     * tenant. A failure is logged and retried next cycle. Returns how many records were deleted.
     */
    int collectKeyRecords() {
        if (keyring == null) {
            return 0;
        }
        // the objects before the records: a record made after this listing belongs to this process
        List<ObjectMetadata> objects = new ArrayList<>(metadata.objects());
        for (Garbage g : garbage) {
            objects.add(g.object());
        }
        Map<Long, dev.strata.core.metadata.StreamMetadata> streams = new HashMap<>();
        for (dev.strata.core.metadata.StreamMetadata s : metadata.streams()) {
            streams.put(s.streamId(), s);
        }
        Set<Long> live = new HashSet<>();
        Set<String> unknown = new HashSet<>();
        for (ObjectMetadata o : objects) {
            if (o.dataKeyIds() != null) {
                live.addAll(o.dataKeyIds());
                continue;
            }
            for (dev.strata.core.metadata.StreamRange r : o.ranges()) {
                dev.strata.core.metadata.StreamMetadata s = streams.get(r.streamId());
                if (s != null) {
                    s.labels().tenant().ifPresent(unknown::add);
                }
            }
        }
        int deleted = 0;
        try {
            for (Map.Entry<String, List<Long>> tenant : keyring.listRecords().entrySet()) {
                if (unknown.contains(tenant.getKey())) {
                    continue;
                }
                List<Long> dead = new ArrayList<>();
                for (long id : tenant.getValue()) {
                    if (!live.contains(id) && !keyring.madeHere(id)) {
                        dead.add(id);
                    }
                }
                if (dead.isEmpty()) {
                    continue;
                }
                List<Long> gone = keyring.deleteRecords(tenant.getKey(), dead);
                deleted += gone.size();
                List<String> hex = new ArrayList<>();
                for (long id : gone) {
                    hex.add(String.format("%016x", id));
                }
                audit.emit(dev.strata.core.AuditEvent.Type.KEY_RECORDS_DELETED, -1, java.util.Optional.of(tenant.getKey()),
                        java.util.Optional.empty(), Map.of("deleted", Integer.toString(gone.size()),
                                "dataKeyIds", String.join(",", hex)));
                LOG.info("deleted {} key records of tenant {} whose data keys protect no live data", gone.size(),
                        tenant.getKey());
            }
        } catch (RuntimeException e) {
            LOG.warn("deleting unneeded key records failed (retried next cycle): {}", Futures.unwrap(e).toString());
        }
        return deleted;
    }

    /** Deletes objects no one references for longer than the orphan TTL; returns how many. */
    int sweepOrphans() {
        List<ObjectInfo> listed;
        try {
            listed = storage.list("").join();
        } catch (Throwable t) {
            LOG.warn("listing the object store for orphans failed (retried next cycle): {}",
                    Futures.unwrap(t).toString());
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
            if (now - firstSeen >= orphanTtl.toMillis()) {
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
        metrics.objectsDeleted(due.size(), true);
        emitDeleted(due, "orphan");
        LOG.info("deleted {} orphan objects (uploaded or replaced but not referenced for {} ms or more)", due.size(),
                orphanTtl.toMillis());
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
            Throwable cause = Futures.unwrap(t);
            if (cause instanceof StreamFencedException) {
                state.fence(cause);
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
    int abortIncompleteUploads() {
        List<IncompleteUpload> listed;
        try {
            listed = storage.listIncompleteUploads().join();
        } catch (Throwable t) {
            LOG.warn("listing incomplete uploads failed (retried next cycle): {}", Futures.unwrap(t).toString());
            return 0;
        }
        long cutoff = clock.millis() - orphanTtl.toMillis();
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
                due.size(), orphanTtl.toMillis());
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

    /** Replaced objects waiting out their grace period. */
    long garbageObjects() {
        return garbageObjects;
    }

    /** Bytes of replaced objects waiting out their grace period. */
    long garbageBytes() {
        return garbageBytes;
    }

    /** Objects deleted since the store opened (replaced and orphans). */
    long objectsDeleted() {
        return objectsDeleted.get();
    }
}
