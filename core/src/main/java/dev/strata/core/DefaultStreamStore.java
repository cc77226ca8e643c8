package dev.strata.core;

import dev.strata.core.append.AppendPath;
import dev.strata.api.Stream;
import dev.strata.api.StreamClosedException;
import dev.strata.api.StreamOptions;
import java.util.concurrent.CompletableFuture;

/**
 * The durable {@link dev.strata.api.StreamStore}: appends go to the WAL, then the LogCache; the
 * uploader moves them to objects and commits them to the metadata store; fetches read the LogCache
 * or, below it, objects through the block cache. Built by {@link Strata#builder()}: the parts run in
 * a {@link StoreEngine} (the append path, the uploader, the compactor, the read path); this class is
 * the API in front of it, with what opening found ({@link StoreRecoveryReport}) and the memory
 * limits the settings imply.
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
 * meanwhile, and when WAL or cache are full appends fail with
 * {@link dev.strata.api.BackpressureException} (see {@code AppendPath}, Backpressure).
 *
 * <p>Thread-safe; immutable apart from its engine's state.
 */
final class DefaultStreamStore implements DurableStreamStore {
    private final StoreEngine engine;
    private final StoreRecoveryReport recoveryReport;
    private final MemoryLimits memoryLimits;

    /**
     * @param engine the started engine this store serves from
     * @param recoveryReport what opening replayed from the WAL
     * @param memoryLimits the limits the builder computed from the settings
     */
    DefaultStreamStore(StoreEngine engine, StoreRecoveryReport recoveryReport, MemoryLimits memoryLimits) {
        this.engine = engine;
        this.recoveryReport = recoveryReport;
        this.memoryLimits = memoryLimits;
    }

    @Override
    public String walBackend() {
        return engine.wal.backend();
    }

    @Override
    public StoreRecoveryReport recoveryReport() {
        return recoveryReport;
    }

    @Override
    public MemoryLimits memoryLimits() {
        return memoryLimits;
    }

    @Override
    public CompletableFuture<Void> flush() {
        if (engine.state.isClosed()) {
            return CompletableFuture.failedFuture(new StreamClosedException("store closed"));
        }
        return engine.uploader.flush();
    }

    @Override
    public CompletableFuture<CompactionReport> compact() {
        if (engine.state.isClosed()) {
            return CompletableFuture.failedFuture(new StreamClosedException("store closed"));
        }
        return engine.compactor.runNow();
    }

    @Override
    public StorageSummary storageSummary() {
        return engine.compactor.summary();
    }

    @Override
    public void destroyTenantKey(String tenant) {
        checkTenantKeyOperation(tenant, "destroy");
        java.util.Optional<String> actor = AuditActor.current();
        int deleted = engine.keyring.destroy(tenant);
        engine.audit.emit(AuditEvent.Type.KEY_DESTROYED, -1, java.util.Optional.of(tenant), actor,
                java.util.Map.of("keyRecordsDeleted", Integer.toString(deleted)));
    }

    @Override
    public int rewrapTenantKeys(String tenant) {
        checkTenantKeyOperation(tenant, "re-wrap");
        java.util.Optional<String> actor = AuditActor.current();
        int rewrapped = engine.keyring.rewrap(tenant);
        engine.audit.emit(AuditEvent.Type.KEY_REWRAPPED, -1, java.util.Optional.of(tenant), actor,
                java.util.Map.of("rewrapped", Integer.toString(rewrapped)));
        return rewrapped;
    }

    /** What a tenant-key operation ({@code verb} its keys) needs: a valid tenant, an open store with encryption. */
    private void checkTenantKeyOperation(String tenant, String verb) {
        dev.strata.api.StreamLabels.checkTenant(tenant);
        if (engine.state.isClosed()) {
            throw new StreamClosedException("store closed");
        }
        if (!engine.keyring.enabled()) {
            throw new IllegalStateException("the store was built without encryption (Strata.builder().encryption(..)):"
                    + " tenant " + tenant + " has no keys to " + verb);
        }
    }

    @Override
    public CompletableFuture<Stream> createStream(StreamOptions options) {
        return engine.streams.createStream(options);
    }

    @Override
    public Quotas quotas() {
        return engine.quotas;
    }

    @Override
    public ReadStats readStats() {
        return engine.readStats();
    }

    @Override
    public CompletableFuture<java.util.List<dev.strata.api.StreamInfo>> listStreams(dev.strata.api.StreamFilter filter) {
        return engine.streams.listStreams(filter);
    }

    @Override
    public CompletableFuture<Stream> openStream(long streamId, long epoch) {
        return engine.streams.openStream(streamId, epoch);
    }

    @Override
    public CompletableFuture<Void> deleteStream(long streamId, long epoch) {
        return engine.streams.deleteStream(streamId, epoch);
    }

    /** Closes the store after one last (bounded) upload of what the WAL holds; see {@link StoreEngine#close}. */
    @Override
    public void close() {
        engine.close(true);
    }
}
