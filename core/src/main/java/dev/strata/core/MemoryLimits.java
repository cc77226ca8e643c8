package dev.strata.core;

/**
 * The most memory a store holds outside the Java heap, by component, from its configuration
 * ({@link DurableStreamStore#memoryLimits()}; computed by
 * {@link dev.strata.core.settings.StoreSizes#memoryLimits}). Size the JVM's direct memory
 * ({@code -XX:MaxDirectMemorySize}) to at least {@link #directBytes()} plus what else the process
 * uses; the store then never fails for lack of direct memory, whatever its load.
 *
 * <p>Not included: buffers of fetch results the caller has not closed yet (each holds its batches
 * and, for batches of up to 32 KiB, the 1 MiB slab they were encoded into);
 * the S3 client's own network buffers; the local object store's O_DIRECT staging buffers (1 MiB per
 * I/O thread that writes at once, 4 MiB with its default four threads); and, with S3, the parts of a multipart upload in flight:
 * a compaction task's output parts still reference the input blocks they were cut from, so with S3
 * a task can hold up to the upload's parts in flight (by default 4, plus the one being filled, of
 * the configured part size) instead of {@link #compactionBytes}. Uploads of new data are not
 * affected: their parts reference LogCache buffers, which the LogCache limit covers.
 *
 * @param logCacheBytes recent appends, uploaded or not, and the appends in flight towards the WAL
 *     (admission reserves their room in the cache, so both share this limit); small appends are
 *     encoded into 1 MiB slabs, kept for reuse while those in use and free together fit this limit
 *     (plus two: the open slab and one shared by the head block); the pool allowance covers those two
 *     and the slabs' unused ends
 * @param walBytes the WAL's write buffers, and its recovery read buffers
 *     ({@link dev.strata.wal.api.WriteAheadLog#directMemoryBytes()})
 * @param blockCacheBytes object blocks cached for catch-up reads
 * @param inFlightReadBytes object reads in flight
 * @param compactionBytes what one compaction task holds: a read chunk and the batches of the previous
 *     chunk still in the object being written
 * @param poolAllowanceBytes the buffer pool's granularity: pooled buffers are rounded up to Netty's
 *     size classes (at most a quarter more: four classes per power of two) and each arena keeps one
 *     partly used chunk
 */
public record MemoryLimits(long logCacheBytes, long walBytes, long blockCacheBytes, long inFlightReadBytes,
        long compactionBytes, long poolAllowanceBytes) {

    /** The total: the store's direct memory never exceeds it. */
    public long directBytes() {
        return logCacheBytes + walBytes + blockCacheBytes + inFlightReadBytes + compactionBytes + poolAllowanceBytes;
    }

    @Override
    public String toString() {
        return "MemoryLimits[direct=" + directBytes() + " logCache=" + logCacheBytes + " wal=" + walBytes
                + " blockCache=" + blockCacheBytes + " inFlightReads=" + inFlightReadBytes + " compaction="
                + compactionBytes + " poolAllowance=" + poolAllowanceBytes + "]";
    }
}
