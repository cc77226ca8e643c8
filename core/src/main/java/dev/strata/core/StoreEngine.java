package dev.strata.core;

import dev.strata.core.crypto.TenantKeyring;

import dev.strata.cache.LogCache;
import dev.strata.core.append.AppendPath;
import dev.strata.core.quota.QuotaManager;
import dev.strata.core.append.AppendSettings;
import dev.strata.core.append.IngestLedger;
import dev.strata.core.append.StreamRegistry;
import dev.strata.core.append.StreamTable;
import dev.strata.core.compaction.CompactionSettings;
import dev.strata.core.compaction.Compactor;
import dev.strata.core.compaction.Foreground;
import dev.strata.core.metadata.MetadataStore;
import dev.strata.core.metrics.StoreMetrics;
import dev.strata.core.read.FetchPath;
import dev.strata.core.read.ObjectCatalog;
import dev.strata.core.read.ObjectReadPath;
import dev.strata.core.recovery.ReplayTarget;
import dev.strata.core.support.StoreState;
import dev.strata.core.support.ThreadScheduling;
import dev.strata.core.upload.ObjectKeyAllocator;
import dev.strata.core.upload.UploadSettings;
import dev.strata.core.upload.UploadSource;
import dev.strata.core.upload.Uploader;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.format.StreamBatch;
import dev.strata.wal.api.WriteAheadLog;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running parts of a durable store, wired together: the append side ({@link IngestLedger},
 * {@link AppendPath}, {@link StreamRegistry}), the read side ({@link FetchPath},
 * {@link ObjectReadPath}), the {@link Uploader} and the {@link Compactor}. Each part gets what it
 * needs as a narrow interface ({@link StoreState}, {@link UploadSource}, {@link ObjectCatalog},
 * {@link Foreground}, {@link ReplayTarget}), never the store. Built by {@link Strata.Builder} before
 * WAL replay, which fills it through {@link #replayTarget()}; it then {@link #start()}s and serves
 * behind a {@link DefaultStreamStore}. {@link #close} stops the parts in dependency order.
 *
 * <p>Thread-safe.
 */
final class StoreEngine {
    private static final Logger LOG = LoggerFactory.getLogger(StoreEngine.class);

    /** Longest wait at close for appends already handed to the WAL (a stuck device must not hang close). */
    private static final long CLOSE_DRAIN_NANOS = TimeUnit.SECONDS.toNanos(10);

    final StoreState state = new StoreState();
    final WriteAheadLog wal;
    final StreamRegistry streams;
    final Uploader uploader;
    final Compactor compactor;
    private final IngestLedger ledger;
    private final ObjectReadPath readPath;
    private final AppendPath appends;
    /** Byte-rate quotas per stream and tenant, set at run time ({@link DurableStreamStore#quotas()}). */
    final QuotaManager quotas;
    private final List<AutoCloseable> owned;
    /** Tenants' data keys: encrypts appends, decrypts fetches, crypto-shreds ({@link DurableStreamStore#destroyTenantKey}). */
    final TenantKeyring keyring;
    final dev.strata.core.audit.AuditLog audit;
    /** Longest wait at close for the final upload. */
    private final long closeUploadNanos;

    /**
     * @param owned what the store closes after its parts, last first
     * @param metricsFactory makes the store's metrics once the parts they watch exist, or null for none
     * @param appendStages receives each append's stage timestamps, or null for none
     * @param backgroundCpuPriority the priority of the block cache's and compaction's threads
     */
    StoreEngine(EngineConfig config, WriteAheadLog wal, MetadataStore metadata, ObjectStorage storage,
            LogCache logCache, long blockCacheBytes, long maxInFlightReadBytes, ByteBufAllocator allocator,
            Executor callbackExecutor, Executor readExecutor, List<AutoCloseable> owned, CompactionConfig compaction,
            Clock clock, Duration closeUploadTimeout, StoreOpener.MetricsFactory metricsFactory, MemoryLimits memoryLimits,
            dev.strata.core.audit.AuditLog audit, EncryptionConfig encryption, AppendStageListener appendStages,
            CpuPriority backgroundCpuPriority) {
        this.wal = wal;
        this.audit = audit;
        this.keyring = new TenantKeyring(encryption == null ? null : encryption.provider(),
                encryption == null ? t -> false : encryption.tenants(), storage, clock, metadata::nodeEpoch,
                id -> metadata.stream(id).flatMap(m -> m.labels().tenant()),
                id -> metadata.stream(id).map(dev.strata.core.metadata.StreamMetadata::encryptedFromOffset).orElse(-1L));
        this.owned = owned;
        this.closeUploadNanos = closeUploadTimeout.toNanos();
        // the storage summary comes from the compactor, built below; the metrics read it only once serving
        StoreMetrics metrics = metricsFactory == null ? StoreMetrics.NONE
                : metricsFactory.create(wal, logCache, this::storageSummary, memoryLimits);
        this.ledger = new IngestLedger(logCache);
        this.quotas = new QuotaManager(System::nanoTime, id -> metadata.stream(id).flatMap(m -> m.labels().tenant()), audit,
                (id, offset) -> {
                    long first = logCache.firstCachedOffset(id); // the log cache serves [first, its end]
                    return first >= 0 && offset >= first;
                });
        StreamTable table = new StreamTable();
        this.readPath = new ObjectReadPath(storage, metadata, blockCacheBytes, maxInFlightReadBytes, readExecutor, keyring,
                ThreadScheduling.daemonThreads("strata-blockcache", backgroundCpuPriority));
        ObjectKeyAllocator keys = new ObjectKeyAllocator(metadata::nodeEpoch);
        this.uploader = new Uploader(ledger, table::isLive, readPath, state, metrics, storage, metadata, logCache, wal,
                new UploadSettings(config.uploadInterval(), config.uploadRetryBackoff(), config.objectBlockBytes(),
                        config.streamObjectThresholdBytes()), keys, clock, keyring.enabled());
        Uploader upload = uploader;
        ObjectReadPath reads = readPath;
        this.compactor = new Compactor(new CompactionSettings(compaction.interval(), compaction.planner(),
                compaction.gracePeriod(), compaction.orphanTtl(), compaction.bytesPerSecond(), compaction.readChunkBytes(),
                config.objectBlockBytes(), backgroundCpuPriority), new Foreground() {
                    @Override
                    public boolean awaitUploadIdle(long maxNanos) {
                        return upload.awaitIdle(maxNanos);
                    }

                    @Override
                    public boolean awaitNoCatchUpReads(long maxNanos) {
                        return reads.awaitNoFetches(maxNanos);
                    }
                }, readPath, state, metrics, storage, metadata, keys, clock, audit, keyring);
        this.appends = new AppendPath(new AppendSettings(config.maxBatchBytes(), config.uploadThresholdBytes(),
                config.appendBackpressureWait(), config.completeOnAppendingThread()), wal, logCache, ledger,
                state,
                uploader::wakeUp, metrics, quotas, keyring, appendStages);
        this.streams = new StreamRegistry(table, metadata, callbackExecutor, state, ledger, appends, audit,
                new FetchPath(logCache, readPath, metrics, quotas, keyring), id -> {
                    readPath.forgetStream(id);
                    quotas.forgetStream(id);
                });
    }

    /** Catch-up read counters (see {@link DurableStreamStore#readStats()}). */
    ReadStats readStats() {
        return readPath.stats();
    }

    /** What the last compaction cycle found in the store (the storage gauges read it). */
    private StorageSummary storageSummary() {
        return compactor.lastSummary();
    }

    /** Where WAL replay puts what it recovers (at open, before {@link #start()}). */
    ReplayTarget replayTarget() {
        return new ReplayTarget() {
            @Override
            public void insert(StreamBatch batch, ByteBuf encoded, long walNextPosition) {
                ledger.insertRecovered(batch, encoded, walNextPosition);
            }

            @Override
            public void skipTo(long walPosition) {
                ledger.advanceWalEnd(walPosition);
            }

            @Override
            public void registerStreams(Map<Long, Long> replayedEnds) {
                streams.registerRecovered(replayedEnds);
            }

            @Override
            public void commitReplayed() {
                uploader.flush().join();
            }
        };
    }

    /** Starts background uploads and compaction; called once recovery's data is committed. */
    void start() {
        uploader.start();
        compactor.start();
    }

    /**
     * Closes the store: refuses new work, fails catch-up reads in flight, waits (bounded) for appends
     * handed to the WAL, stops compaction, then the uploader, then closes what the store owns.
     *
     * @param uploadFirst whether the uploader makes one last (bounded) upload of what the WAL holds:
     *     only for a store that served; a build that failed (e.g. refused for lost WAL data) must
     *     leave storage as it found it
     */
    void close(boolean uploadFirst) {
        if (!ledger.exclusive(state::markClosed)) { // no append is between its closed check and the WAL hand-off now
            return;
        }
        state.roomFreed(); // appends waiting for cache or WAL room fail now
        wal.wakeRoomWaiters();
        // First: catch-up reads in flight fail with StreamClosedException now, whatever the object store
        // does (during an outage it may never answer), instead of waiting behind the final upload.
        readPath.close();
        appends.close(CLOSE_DRAIN_NANOS);
        compactor.close(closeUploadNanos); // a task that has not committed leaves orphans, swept at a later start
        boolean gaveUp = uploader.close(uploadFirst, closeUploadNanos);
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
}
