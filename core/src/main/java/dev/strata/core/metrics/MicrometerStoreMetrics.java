package dev.strata.core.metrics;

import dev.strata.cache.LogCache;
import dev.strata.core.MemoryLimits;
import dev.strata.core.StorageSummary;
import dev.strata.wal.api.WriteAheadLog;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;

/**
 * {@link StoreMetrics} on a Micrometer {@link MeterRegistry}: meters named {@code strata.*}
 * (appends, append latency, failures by type, fetches by source, uploads, upload failures) and
 * gauges of the bounded resources (WAL used/capacity, LogCache used/unuploaded bytes), compaction and
 * garbage collection ({@code strata.compaction.*}, {@code strata.gc.*}) and the storage summary as of
 * the last compaction cycle ({@code strata.storage.*}). Thread-safe.
 */
public final class MicrometerStoreMetrics implements StoreMetrics {
    private final MeterRegistry registry;
    private final Timer appendLatency;
    private final DistributionSummary appendBytes;
    private final Counter fetchFromCache;
    private final Counter fetchFromObjects;
    private final Counter uploads;
    private final Counter uploadedObjects;
    private final DistributionSummary uploadedBytes;
    private final Timer uploadDuration;
    private final Counter uploadFailures;

    private final Counter compactionTasks;
    private final Counter compactionFailures;
    private final Counter compactionInputs;
    private final Counter compactionOutputs;
    private final Counter compactionBytesRead;
    private final Counter compactionBytesWritten;
    private final Counter deletedReplaced;
    private final Counter deletedOrphans;

    /** Registers the meters and the gauges of bounded resources; the storage gauges: {@link #registerStorageGauges}. */
    public MicrometerStoreMetrics(MeterRegistry registry, WriteAheadLog wal, LogCache logCache, MemoryLimits memoryLimits) {
        this.registry = registry;
        this.appendLatency = Timer.builder("strata.append.latency").description("append call to acknowledgement")
                .publishPercentileHistogram().register(registry);
        this.appendBytes = DistributionSummary.builder("strata.append.bytes").baseUnit("bytes").register(registry);
        this.fetchFromCache = Counter.builder("strata.fetch").tag("source", "logcache").register(registry);
        this.fetchFromObjects = Counter.builder("strata.fetch").tag("source", "objects").register(registry);
        this.uploads = Counter.builder("strata.upload.commits").register(registry);
        this.uploadedObjects = Counter.builder("strata.upload.objects").register(registry);
        this.uploadedBytes = DistributionSummary.builder("strata.upload.bytes").baseUnit("bytes").register(registry);
        this.uploadDuration = Timer.builder("strata.upload.duration").register(registry);
        this.uploadFailures = Counter.builder("strata.upload.failures").register(registry);
        Gauge.builder("strata.wal.used.bytes", wal, WriteAheadLog::used).register(registry);
        Gauge.builder("strata.wal.capacity.bytes", wal, WriteAheadLog::capacity).register(registry);
        Gauge.builder("strata.logcache.used.bytes", logCache, LogCache::usedBytes).register(registry);
        Gauge.builder("strata.logcache.unuploaded.bytes", logCache, LogCache::unuploadedBytes).register(registry);
        Gauge.builder("strata.logcache.reserved.bytes", logCache, LogCache::reservedBytes)
                .description("room held for appends in flight towards the WAL").baseUnit("bytes").register(registry);
        Gauge.builder("strata.memory.limit.bytes", memoryLimits, MemoryLimits::directBytes)
                .description("most direct memory the store holds (MemoryLimits)").baseUnit("bytes").strongReference(true)
                .register(registry);
        this.compactionTasks = Counter.builder("strata.compaction.tasks").register(registry);
        this.compactionFailures = Counter.builder("strata.compaction.failures").register(registry);
        this.compactionInputs = Counter.builder("strata.compaction.objects").tag("side", "input").register(registry);
        this.compactionOutputs = Counter.builder("strata.compaction.objects").tag("side", "output").register(registry);
        this.compactionBytesRead = Counter.builder("strata.compaction.bytes").tag("side", "read").baseUnit("bytes")
                .register(registry);
        this.compactionBytesWritten = Counter.builder("strata.compaction.bytes").tag("side", "written").baseUnit("bytes")
                .register(registry);
        this.deletedReplaced = Counter.builder("strata.gc.deleted.objects").tag("kind", "replaced").register(registry);
        this.deletedOrphans = Counter.builder("strata.gc.deleted.objects").tag("kind", "orphan").register(registry);
    }

    /**
     * Registers the gauges of the storage summary as of the last compaction cycle ({@code summary}),
     * once the compactor that computes it exists.
     */
    public static void registerStorageGauges(MeterRegistry registry, java.util.function.Supplier<StorageSummary> summary) {
        // The summary as of the last compaction cycle (computing it walks the metadata, so not per scrape).
        Gauge.builder("strata.storage.objects", summary, s -> s.get().objects()).strongReference(true).register(registry);
        Gauge.builder("strata.storage.stored.bytes", summary, s -> s.get().storedBytes()).baseUnit("bytes").strongReference(true).register(registry);
        Gauge.builder("strata.storage.live.bytes", summary, s -> s.get().liveBytes()).baseUnit("bytes").strongReference(true).register(registry);
        Gauge.builder("strata.storage.amplification", summary, s -> s.get().amplification()).strongReference(true).register(registry);
        Gauge.builder("strata.storage.garbage.objects", summary, s -> s.get().garbageObjects()).strongReference(true).register(registry);
        Gauge.builder("strata.compaction.backlog.bytes", summary, s -> s.get().compactionBacklogBytes()).baseUnit("bytes")
                .strongReference(true).register(registry);
    }

    @Override
    public void appendAcknowledged(long payloadBytes, long latencyNanos) {
        appendLatency.record(latencyNanos, TimeUnit.NANOSECONDS);
        appendBytes.record(payloadBytes);
    }

    @Override
    public void appendFailed(Throwable cause) {
        registry.counter("strata.append.failures", "type", cause.getClass().getSimpleName()).increment();
    }

    @Override
    public void fetched(boolean fromCache) {
        (fromCache ? fetchFromCache : fetchFromObjects).increment();
    }

    @Override
    public void uploadCommitted(int objects, long bytes, long durationNanos) {
        uploads.increment();
        uploadedObjects.increment(objects);
        uploadedBytes.record(bytes);
        uploadDuration.record(durationNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void uploadFailed() {
        uploadFailures.increment();
    }

    @Override
    public void compactionTaskCommitted(int inputs, int outputs, long bytesRead, long bytesWritten) {
        compactionTasks.increment();
        compactionInputs.increment(inputs);
        compactionOutputs.increment(outputs);
        compactionBytesRead.increment(bytesRead);
        compactionBytesWritten.increment(bytesWritten);
    }

    @Override
    public void compactionYielded(String to) {
        registry.counter("strata.compaction.yields", "to", to).increment();
    }

    @Override
    public void compactionTaskFailed() {
        compactionFailures.increment();
    }

    @Override
    public void objectsDeleted(int count, boolean orphans) {
        (orphans ? deletedOrphans : deletedReplaced).increment(count);
    }
}
