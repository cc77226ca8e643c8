package dev.strata.cache;

/**
 * A point-in-time snapshot of {@link LogCache} counters. Counters are cumulative since creation.
 *
 * @param capacityBytes the configured byte limit
 * @param usedBytes encoded bytes held (all blocks)
 * @param unuploadedBytes bytes held that are not yet in object storage (not evictable)
 * @param blocks blocks held, of any state
 * @param hits fetches answered by the cache (including empty tail polls)
 * @param misses fetches the caller had to send to object storage
 * @param evictedBlocks uploaded blocks evicted to make room
 * @param evictedBytes bytes of those blocks
 */
public record LogCacheStats(long capacityBytes, long usedBytes, long unuploadedBytes, int blocks, long hits,
        long misses, long evictedBlocks, long evictedBytes) {

    /** hits / (hits + misses), or 0 when there was no fetch. */
    public double hitRatio() {
        long total = hits + misses;
        return total == 0 ? 0 : (double) hits / total;
    }
}
