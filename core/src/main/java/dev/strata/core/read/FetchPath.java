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
 * objects through the {@link ObjectReadPath} (catch-up reads). Thread-safe.
 */
public final class FetchPath {
    private final LogCache logCache;
    private final ObjectReadPath objects;
    private final StoreMetrics metrics;

    public FetchPath(LogCache logCache, ObjectReadPath objects, StoreMetrics metrics) {
        this.logCache = logCache;
        this.objects = objects;
        this.metrics = metrics;
    }

    /** Reads batches of {@code streamId} from {@code start}, at most up to {@code end} and about {@code maxBytes}. */
    public CompletableFuture<FetchResult> fetch(long streamId, long start, long end, int maxBytes) {
        LogCacheFetch cached = logCache.fetch(streamId, start, end, maxBytes);
        metrics.fetched(cached.isHit());
        if (cached.isHit()) {
            return CompletableFuture.completedFuture(toFetchResult(cached));
        }
        cached.close();
        return objects.fetch(streamId, start, end, maxBytes);
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
