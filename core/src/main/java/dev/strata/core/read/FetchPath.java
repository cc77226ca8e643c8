package dev.strata.core.read;

import dev.strata.core.metrics.StoreMetrics;
import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.cache.CachedBatch;
import dev.strata.cache.LogCache;
import dev.strata.cache.LogCacheFetch;
import dev.strata.objectstore.format.StreamBatch;
import dev.strata.objectstore.format.StreamBatchCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Where a fetch reads: the LogCache when it holds the start offset (tail reads), else committed
 * objects through the {@link ObjectReadPath} (catch-up reads, which the stream's and its tenant's
 * read quotas may delay). Thread-safe.
 */
public final class FetchPath {
    private final LogCache logCache;
    private final ObjectReadPath objects;
    private final StoreMetrics metrics;
    private final dev.strata.core.quota.QuotaManager quotas;

    public FetchPath(LogCache logCache, ObjectReadPath objects, StoreMetrics metrics, dev.strata.core.quota.QuotaManager quotas) {
        this.logCache = logCache;
        this.objects = objects;
        this.metrics = metrics;
        this.quotas = quotas;
    }

    /** Reads batches of {@code streamId} from {@code start}, at most up to {@code end} and about {@code maxBytes}. */
    public CompletableFuture<FetchResult> fetch(long streamId, long start, long end, int maxBytes) {
        LogCacheFetch cached = logCache.fetch(streamId, start, end, maxBytes);
        metrics.fetched(cached.isHit());
        if (cached.isHit()) {
            return CompletableFuture.completedFuture(toFetchResult(cached));
        }
        cached.close();
        CompletableFuture<FetchResult> read = objects.fetch(streamId, start, end, maxBytes);
        return quotas.active() ? read.thenCompose(r -> throttled(streamId, r)) : read;
    }

    /** {@code result}, delayed as the stream's and its tenant's catch-up read quotas require (never failed). */
    private CompletableFuture<FetchResult> throttled(long streamId, FetchResult result) {
        long bytes = 0;
        for (FetchedBatch b : result.batches()) {
            bytes += b.payload().remaining();
        }
        long delayNanos = quotas.chargeCatchUpRead(streamId, bytes);
        if (delayNanos <= 0) {
            return CompletableFuture.completedFuture(result);
        }
        return CompletableFuture.supplyAsync(() -> result,
                CompletableFuture.delayedExecutor(delayNanos, java.util.concurrent.TimeUnit.NANOSECONDS));
    }

    private static FetchResult toFetchResult(LogCacheFetch cached) {
        List<FetchedBatch> batches = new ArrayList<>(cached.batches().size());
        for (CachedBatch b : cached.batches()) {
            StreamBatch sb = StreamBatchCodec.wrap(b.data());
            batches.add(new FetchedBatch(sb.baseOffset(), sb.count(), sb.baseTimestamp(), sb.payload().nioBuffer()));
        }
        return new PooledFetchResult(batches, cached);
    }
}
