package dev.strata.cache;

/**
 * A point-in-time snapshot of {@link BlockCache} counters; counters are cumulative since creation.
 *
 * @param hits reads served from the cache
 * @param misses reads that had to wait for a load (their own or one already in flight)
 * @param cachedBytes bytes currently held by the cache (Caffeine's weighted size; read blocks)
 * @param cachedBlocks blocks currently held
 * @param evictions blocks Caffeine evicted for size
 * @param evictedBytes bytes of those blocks
 * @param loads calls to the {@link BlockLoader} (one per coalesced run)
 * @param loadedBlocks blocks loaded
 * @param loadedBytes bytes loaded
 * @param prefetchedBytes bytes loaded by read-ahead
 * @param prefetchedUnusedBytes bytes loaded by read-ahead that were dropped unread (expired, invalidated, or
 *     reclaimed for waiting demand loads)
 * @param prefetchedUnreadBytes bytes loaded by read-ahead and waiting for their first read now (held
 *     outside {@code cachedBytes}, inside the in-flight budget)
 * @param readingBytes bytes loaded by read-ahead, read, and held outside {@code cachedBytes} while their
 *     stream still reads in them (one block per reading stream; it moves into the cache when the
 *     stream reads another block), inside the in-flight budget
 * @param inFlightBytes bytes charged to the in-flight budget now: being loaded, prefetched and unread, or
 *     {@code readingBytes}
 * @param rejectedReads loads failed with {@code BackpressureException}: the in-flight budget's wait queue
 *     was full, or the load waited longer than {@code maxWait}
 * @param skippedPrefetches read-ahead runs not loaded because the budget was full
 */
public record BlockCacheStats(long hits, long misses, long cachedBytes, long cachedBlocks, long evictions,
        long evictedBytes, long loads, long loadedBlocks, long loadedBytes, long prefetchedBytes,
        long prefetchedUnusedBytes, long prefetchedUnreadBytes, long readingBytes, long inFlightBytes, long rejectedReads, long skippedPrefetches) {

    /** hits / (hits + misses), or 0 when nothing was read. */
    public double hitRatio() {
        long total = hits + misses;
        return total == 0 ? 0 : (double) hits / total;
    }
}
