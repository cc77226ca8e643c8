package dev.strata.core;

/**
 * Counters of the store's catch-up reads (fetches served from object storage, not from the
 * LogCache), cumulative since the store opened: what readers got, and what the store read from
 * objects to give it to them. Take two snapshots and subtract to measure a replay.
 *
 * @param catchUpFetches fetches answered from objects
 * @param catchUpBytesReturned payload bytes those fetches returned
 * @param objectBytesLoaded bytes the block cache loaded from objects (demand loads and read-ahead):
 *     what catch-up reads cost the object store
 * @param blockCacheHits block reads served from the block cache
 * @param blockCacheMisses block reads that waited for a load
 */
public record ReadStats(long catchUpFetches, long catchUpBytesReturned, long objectBytesLoaded, long blockCacheHits,
        long blockCacheMisses) {

    /**
     * Read amplification: bytes loaded from objects per payload byte returned (above 1 for batch and
     * block framing, read-ahead not read, and data of other streams in shared blocks), or NaN when
     * nothing was returned.
     */
    public double readAmplification() {
        return catchUpBytesReturned == 0 ? Double.NaN : (double) objectBytesLoaded / catchUpBytesReturned;
    }

    /** These counters minus {@code earlier}'s: what happened between the two snapshots. */
    public ReadStats minus(ReadStats earlier) {
        return new ReadStats(catchUpFetches - earlier.catchUpFetches,
                catchUpBytesReturned - earlier.catchUpBytesReturned, objectBytesLoaded - earlier.objectBytesLoaded,
                blockCacheHits - earlier.blockCacheHits, blockCacheMisses - earlier.blockCacheMisses);
    }
}
