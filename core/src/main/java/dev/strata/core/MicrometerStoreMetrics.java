package dev.strata.core;

import dev.strata.cache.LogCache;
import dev.strata.wal.WriteAheadLog;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;

/**
 * {@link StoreMetrics} on a Micrometer {@link MeterRegistry}: meters named {@code strata.*}
 * (appends, append latency, failures by type, fetches by source, uploads, upload failures) and
 * gauges of the bounded resources (WAL used/capacity, LogCache used/unuploaded bytes). Thread-safe.
 */
final class MicrometerStoreMetrics implements StoreMetrics {
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

    MicrometerStoreMetrics(MeterRegistry registry, WriteAheadLog wal, LogCache logCache) {
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
}
