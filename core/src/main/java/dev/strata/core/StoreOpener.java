package dev.strata.core;

import dev.strata.api.CorruptDataException;
import dev.strata.api.StorageException;
import dev.strata.api.StrataException;
import dev.strata.api.StreamClosedException;
import dev.strata.cache.LogCache;
import dev.strata.core.metadata.ManifestMetadataStore;
import dev.strata.core.metadata.MetadataStore;
import dev.strata.core.metrics.StoreMetrics;
import dev.strata.core.recovery.WalReplay;
import dev.strata.core.settings.StoreSettings;
import dev.strata.core.settings.StoreSizes;
import dev.strata.core.support.Futures;
import dev.strata.core.support.ThreadScheduling;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorages;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.wal.OwnershipLock;
import dev.strata.wal.api.WalFactory;
import dev.strata.wal.api.WalSizes;
import dev.strata.wal.api.WriteAheadLog;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.net.URI;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the open sequence of a store from validated settings and their sizes, once:
 * <ol>
 *   <li><b>Ownership</b>: the data directory's lock (when there is one), before any other side effect,
 *       so a refused open changes nothing.</li>
 *   <li><b>WAL</b>: opened by its {@link WalFactory} (the block-device WAL's takes the WAL's lock first,
 *       and refuses a file smaller than {@code walCapacity} or a block size the largest batch does not
 *       fit), and refused if it cannot hold the largest batch, still before the metadata. The engine
 *       uses it through {@link WriteAheadLog} only.</li>
 *   <li><b>Object store and metadata</b>: requests bounded by {@code objectStoreOpenTimeout} until serving.</li>
 *   <li><b>Register node</b>: fences earlier processes on the same metadata; the WAL records the epoch.</li>
 *   <li><b>Components</b>: LogCache, executors, the store with its memory limits and metrics.</li>
 *   <li><b>Replay</b> what the WAL holds beyond the committed data; <b>flush</b> it (a failure is left to
 *       background uploads); <b>start</b> serving.</li>
 * </ol>
 *
 * <p>Failure: whatever step fails, everything opened so far is closed, in reverse order of opening
 * (the store first, once it exists, then each part; each close is idempotent), close failures are
 * added to the exception as suppressed, and the exception is rethrown unchanged. Components the caller
 * gave (object storage, metadata store, executors) are never closed. Not thread-safe: one opener opens
 * one store, on the caller's thread.
 */
final class StoreOpener {
    private static final Logger LOG = LoggerFactory.getLogger(Strata.class); // logged as the builder always was

    /** The default callback executor's threads. */
    private static final int CALLBACK_THREADS = 2;
    /** The default read executor's threads. */
    private static final int READ_THREADS = 4;

    /**
     * Components the caller gives instead of the store making its own; null where not given (the store
     * then owns and closes what it makes). The store never closes a given one. {@code wal} is always
     * given: the caller's factory or the block-device default; the store owns the WAL it opens.
     */
    record Given(ObjectStorage objectStorage, MetadataStore metadataStore, WalFactory wal,
            Function<ObjectStorage, WalFactory> walOnStorage, Executor callbackExecutor, Executor readExecutor,
            MetricsFactory metrics, Clock clock, AuditListener audit, EncryptionConfig encryption,
            AppendStageListener appendStages, CpuPriority backgroundCpuPriority) {
        Given {
            if ((wal == null) == (walOnStorage == null) || clock == null || audit == null
                    || backgroundCpuPriority == null) {
                throw new IllegalArgumentException("one of wal and walOnStorage, clock, audit and backgroundCpuPriority"
                        + " must be given: wal=" + wal + " walOnStorage=" + walOnStorage + " clock=" + clock + " audit="
                        + audit + " backgroundCpuPriority=" + backgroundCpuPriority);
            }
        }
    }

    /** Makes the store's metrics once its parts exist (Micrometer stays off the class path without it). */
    interface MetricsFactory {
        StoreMetrics create(WriteAheadLog wal, LogCache logCache, Supplier<StorageSummary> summary, MemoryLimits limits);
    }

    private final StoreSettings settings;
    private final StoreSizes sizes;
    private final Given given;
    /** What this open made so far, closed in reverse order if a step fails; the store takes the list over. */
    private final List<AutoCloseable> owned = new ArrayList<>();
    private boolean opened;
    /** Reports durable changes, from the node registration on. */
    private dev.strata.core.audit.AuditLog audit = dev.strata.core.audit.AuditLog.NONE;

    StoreOpener(StoreSettings settings, StoreSizes sizes, Given given) {
        this.settings = settings;
        this.sizes = sizes;
        this.given = given;
    }

    /** Opens the store (see the class comment); {@link Strata.Builder#build()} documents the exceptions. */
    DurableStreamStore open() {
        if (opened) {
            throw new IllegalStateException("a StoreOpener opens one store: open() was already called");
        }
        opened = true;
        long startNanos = System.nanoTime();
        try {
            lockDataDir();
            WriteAheadLog wal;
            OpenDeadlineStorage storage;
            if (given.walOnStorage() != null) { // the WAL lives in the object store: open that first
                storage = openObjectStore();
                wal = openWal(given.walOnStorage().apply(storage));
            } else {
                wal = openWal(given.wal());
                storage = openObjectStore();
            }
            MetadataStore metadata = openMetadata(storage);
            long nodeEpoch = registerNode(metadata);
            audit = new dev.strata.core.audit.AuditLog(given.audit(), given.clock(), metadata::nodeEpoch);
            audit.emit(AuditEvent.Type.NODE_REGISTERED, -1, java.util.Optional.empty(), AuditActor.current(),
                    java.util.Map.of("nodeEpoch", Long.toString(nodeEpoch)));
            wal.assignNodeEpoch(nodeEpoch);
            Assembled assembled = assemble(wal, metadata, storage);
            try {
                return recoverAndStart(assembled, wal, metadata, storage, nodeEpoch, startNanos);
            } catch (RuntimeException | Error e) {
                assembled.engine().close(false); // never served: no final upload; closes what it owns in reverse order
                throw e;
            }
        } catch (RuntimeException | Error e) {
            closeOwned(e);
            throw e;
        }
    }

    /** Step 1: the data directory's lock, when the store has one, before any other side effect. */
    private void lockDataDir() {
        settings.location().dataDir().ifPresent(dir -> {
            createDirectories(dir, "dataDir");
            owned.add(OwnershipLock.forDirectory(dir));
        });
    }

    /**
     * Step 2, still before the metadata: a WAL this store cannot use (the factory's own checks; a
     * largest record below the largest batch) fails the open before the node registration fences anyone.
     */
    private WriteAheadLog openWal(WalFactory factory) {
        WriteAheadLog wal = factory.open(new WalSizes(sizes.walCapacityBytes(), sizes.maxRecordBytes(),
                sizes.walWriteBufferBytes()));
        if (wal == null) {
            throw new IllegalStateException("the WAL factory returned null: " + factory);
        }
        owned.add(wal);
        if (sizes.maxRecordBytes() > wal.maxRecordBytes()) {
            throw new StorageException("maxBatchBytes (" + sizes.maxBatchBytes() + ") does not fit in one record of"
                    + " the WAL (" + wal.backend() + ", from " + factory + "): it allows batches up to "
                    + (wal.maxRecordBytes() - StreamBatchCodec.headerSize()) + " bytes", false);
        }
        return wal;
    }

    /** Step 3: the object store, given or opened from its URI, with each request bounded until serving. */
    private OpenDeadlineStorage openObjectStore() {
        ObjectStorage storage = given.objectStorage();
        if (storage == null) {
            URI uri = settings.location().objectStoreUri().orElseThrow();
            if ("file".equals(uri.getScheme())) {
                createDirectories(Path.of(uri), "objectStore");
            }
            storage = ObjectStorages.fromUri(uri);
            owned.add(storage);
        }
        return new OpenDeadlineStorage(storage, settings.objectStoreOpenTimeout());
    }

    /** Step 3: the metadata, given or the manifest in the object store. */
    private MetadataStore openMetadata(ObjectStorage storage) {
        if (given.metadataStore() != null) {
            return given.metadataStore();
        }
        // close() stays bounded during an outage
        ManifestMetadataStore manifest = openManifest(storage, settings.upload().closeTimeout());
        owned.add(manifest);
        return manifest;
    }

    /** The engine, the LogCache it was made with and the memory limits it runs with. */
    private record Assembled(StoreEngine engine, LogCache logCache, MemoryLimits memoryLimits) {
    }

    /** Step 5: the LogCache, the executors and the engine, with its memory limits and metrics. */
    private Assembled assemble(WriteAheadLog wal, MetadataStore metadata, ObjectStorage storage) {
        LogCache logCache = LogCache.builder().capacityBytes(sizes.logCacheBytes()).blockSizeBytes(sizes.cacheBlockBytes())
                .slabAllocator(PooledByteBufAllocator.DEFAULT).build();
        owned.add(logCache);
        // The WAL after the cache in the list: the cache is closed after the WAL (reverse order), so
        // WAL completions at close still find it open.
        owned.remove(wal);
        owned.add(wal);
        Executor callbacks = given.callbackExecutor() != null ? given.callbackExecutor()
                : ownedPool(CALLBACK_THREADS, "strata-callback", CpuPriority.NORMAL); // closed last: completions of appends in flight at close run on it
        Executor reads = given.readExecutor() != null ? given.readExecutor()
                : ownedPool(READ_THREADS, "strata-read", given.backgroundCpuPriority());

        ByteBufAllocator allocator = PooledByteBufAllocator.DEFAULT;
        MemoryLimits memoryLimits = memoryLimits(wal, allocator);
        StoreEngine engine = new StoreEngine(EngineConfig.of(settings, sizes), wal, metadata, storage, logCache,
                sizes.blockCacheBytes(), sizes.maxInFlightReadBytes(), allocator, callbacks, reads, owned,
                CompactionConfig.of(settings.compaction(), sizes.compaction()), given.clock(),
                settings.upload().closeTimeout(), given.metrics(), memoryLimits, audit, given.encryption(),
                given.appendStages(), given.backgroundCpuPriority());
        return new Assembled(engine, logCache, memoryLimits);
    }

    private MemoryLimits memoryLimits(WriteAheadLog wal, ByteBufAllocator allocator) {
        int arenas = 0;
        long chunk = 0;
        if (allocator instanceof PooledByteBufAllocator pooled) {
            arenas = pooled.metric().numDirectArenas();
            chunk = pooled.metric().chunkSize();
        }
        return sizes.memoryLimits(wal.directMemoryBytes(), arenas, chunk);
    }

    /**
     * Step 6: replay the WAL, serve, and upload what it held in the background. The replayed data is
     * durable in the WAL and readable from the cache, so the store serves without waiting for that
     * upload (a takeover serves as soon as it has replayed); a long replay still uploads at every
     * upload threshold as it goes, which bounds the cache.
     */
    private DefaultStreamStore recoverAndStart(Assembled assembled, WriteAheadLog wal, MetadataStore metadata,
            OpenDeadlineStorage storage, long nodeEpoch, long startNanos) {
        StoreEngine engine = assembled.engine();
        StoreRecoveryReport report = WalReplay.replay(engine.replayTarget(), wal, metadata, sizes.uploadThresholdBytes(),
                assembled.logCache()::unuploadedBytes, startNanos, settings.openDespiteLostWalData());
        if (report.wal().acknowledgedDataLost()) {
            LOG.error("opened despite lost WAL data (openDespiteLostWalData): {}", report.summary());
        }
        report = report.withDuration(System.nanoTime() - startNanos);
        LOG.info("{} (nodeEpoch={}, walBackend={})", report.summary(), nodeEpoch, wal.backend());
        storage.disarm();
        engine.start();
        if (report.recordsReplayed() > 0) {
            // Failure is not the open's: the data stays in the WAL and the next upload retries it.
            engine.uploader.flush().whenComplete((v, e) -> {
                if (e != null && !(Futures.unwrap(e) instanceof StreamClosedException)) {
                    LOG.warn("uploading replayed data failed; background uploads will retry: {}", e.toString());
                }
            });
        }
        return new DefaultStreamStore(engine, report, assembled.memoryLimits());
    }

    /** A pool the store owns, shut down after everything else (first in the list, closed last). */
    private ExecutorService ownedPool(int threads, String name, CpuPriority priority) {
        ExecutorService pool = Executors.newFixedThreadPool(threads, ThreadScheduling.daemonThreads(name, priority));
        owned.add(0, () -> shutdown(pool));
        return pool;
    }

    /** Closes what this open made, in reverse order; each failure is added to {@code cause}. */
    private void closeOwned(Throwable cause) {
        for (int i = owned.size() - 1; i >= 0; i--) {
            try {
                owned.get(i).close();
            } catch (Exception suppressed) {
                cause.addSuppressed(suppressed);
            }
        }
    }

    private static long registerNode(MetadataStore metadata) {
        try {
            return metadata.registerNode().join();
        } catch (CompletionException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (cause instanceof CorruptDataException corrupt) {
                throw corrupt;
            }
            if (cause instanceof StrataException se) {
                throw new StorageException("objectStore: cannot register this process in the metadata (is the bucket"
                        + " writable?): " + se.getMessage(), se.isRetriable(), se);
            }
            throw new StorageException("objectStore: cannot register this process in the metadata: " + cause,
                    false, cause);
        }
    }

    private static ManifestMetadataStore openManifest(ObjectStorage storage, Duration closeTimeout) {
        try {
            return ManifestMetadataStore.open(storage, "", ManifestMetadataStore.DEFAULT_SNAPSHOT_INTERVAL, closeTimeout);
        } catch (CorruptDataException e) {
            throw e; // a damaged manifest is reported as such (build() documents it), never as "bucket missing"
        } catch (StrataException e) {
            throw new StorageException("objectStore: cannot open the manifest (is the bucket there and readable?): "
                    + e.getMessage(), e.isRetriable(), e);
        }
    }

    /** Creates {@code dir}; a failure names {@code setting} and the path. */
    static void createDirectories(Path dir, String setting) {
        try {
            Files.createDirectories(dir);
        } catch (FileAlreadyExistsException e) {
            throw new StorageException(setting + ": " + dir + " is not a directory (" + e.getFile() + " is a file)",
                    false, e);
        } catch (IOException | SecurityException e) {
            throw new StorageException(setting + ": cannot create directory " + dir + ": " + e, false, e);
        }
    }

    private static void shutdown(ExecutorService executor) throws InterruptedException {
        executor.shutdown();
        if (!executor.awaitTermination(10, TimeUnit.SECONDS)) {
            executor.shutdownNow();
        }
    }
}
