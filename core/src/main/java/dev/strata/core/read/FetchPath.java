package dev.strata.core.read;

import dev.strata.core.crypto.TenantKeyring;
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
    /** Decrypts encrypted batches (tail reads; the object path has its own reference). */
    private final TenantKeyring keyring;

    public FetchPath(LogCache logCache, ObjectReadPath objects, StoreMetrics metrics, dev.strata.core.quota.QuotaManager quotas,
            TenantKeyring keyring) {
        this.keyring = keyring;
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
            try {
                return CompletableFuture.completedFuture(toFetchResult(streamId, cached));
            } catch (RuntimeException e) {
                return CompletableFuture.failedFuture(e);
            }
        }
        cached.close();
        CompletableFuture<FetchResult> read = objects.fetch(streamId, start, end, maxBytes);
        // a stream whose caller throttles is charged by the caller, with what it returns (Quotas)
        return quotas.active() && !quotas.isCallerThrottled(streamId) ? read.thenCompose(r -> throttled(streamId, r)) : read;
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

    /**
     * The fetch result over the LogCache's buffers: payloads are views of them, or, for encrypted
     * batches, decrypted heap copies. Closes {@code cached} if decryption fails (the fetch fails).
     */
    private FetchResult toFetchResult(long streamId, LogCacheFetch cached) {
        try {
            List<FetchedBatch> batches = new ArrayList<>(cached.batches().size());
            long encryptedFrom = cached.batches().isEmpty() ? -1 : keyring.encryptedFrom(streamId);
            for (CachedBatch b : cached.batches()) {
                StreamBatch sb = StreamBatchCodec.wrap(b.data());
                batches.add(new FetchedBatch(sb.baseOffset(), sb.count(), sb.baseTimestamp(),
                        keyring.plaintext(sb, "logcache", encryptedFrom)));
            }
            return new PooledFetchResult(batches, cached);
        } catch (RuntimeException | Error e) {
            cached.close();
            throw e;
        }
    }
}
