package dev.strata.core.settings;

import dev.strata.core.MemoryLimits;

/**
 * The sizes a store runs with, from {@link StoreSizing#resolve}: what the user set, and for what they
 * did not, defaults scaled to what they did. Immutable.
 *
 * @param walCapacityBytes size of a WAL file
 * @param walWriteBufferBytes one WAL write buffer (a power of two that holds the largest batch)
 * @param logCacheBytes the LogCache
 * @param cacheBlockBytes the LogCache's block: the unit the uploader seals and the cache evicts
 * @param blockCacheBytes the BlockCache
 * @param maxInFlightReadBytes bytes read from objects at once
 * @param uploadThresholdBytes unuploaded bytes that trigger an upload
 * @param maxBatchBytes largest batch payload
 * @param maxRecordBytes largest WAL record: the largest batch with its header
 * @param compaction what compaction works with
 */
public record StoreSizes(long walCapacityBytes, int walWriteBufferBytes, long logCacheBytes, long cacheBlockBytes,
        long blockCacheBytes, long maxInFlightReadBytes, long uploadThresholdBytes, int maxBatchBytes,
        int maxRecordBytes, CompactionSizes compaction) {

    /**
     * The store's direct-memory limits with these sizes. Pure: the two inputs that only exist once
     * components do are parameters.
     *
     * @param walDirectBytes what the opened WAL holds ({@code WriteAheadLog#directMemoryBytes()}: it
     *     depends on the device's block size and the backend)
     * @param poolArenas direct arenas of the pooled allocator, each keeping up to one partly used chunk
     * @param poolChunkBytes the pool's chunk size
     */
    public MemoryLimits memoryLimits(long walDirectBytes, int poolArenas, long poolChunkBytes) {
        long pooled = logCacheBytes + blockCacheBytes + maxInFlightReadBytes + compaction.taskBytes();
        // Netty rounds a pooled buffer up to its size class (four classes per power of two: at most a
        // quarter more), and each arena keeps one partly used chunk.
        long poolAllowance = pooled / 4 + (long) poolArenas * poolChunkBytes;
        return new MemoryLimits(logCacheBytes, walDirectBytes, blockCacheBytes, maxInFlightReadBytes,
                compaction.taskBytes(), poolAllowance);
    }
}
