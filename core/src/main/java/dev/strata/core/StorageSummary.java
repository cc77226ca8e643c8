package dev.strata.core;

import dev.strata.objectstore.Operation;
import java.util.Map;

/**
 * The object store as the engine sees it ({@link DurableStreamStore#storageSummary()}): what is
 * committed, how much of it is live, what compaction and garbage collection have left to do and
 * what they did so far. Counters are cumulative since the store was opened.
 *
 * @param objects committed objects
 * @param streamSetObjects of which stream-set objects
 * @param streamObjects of which stream objects
 * @param storedBytes bytes of committed objects
 * @param liveBytes estimated bytes of data at or above the start offset of live streams
 * @param garbageObjects objects removed from the metadata and waiting for the grace period before
 *     they are deleted (stored, but not counted in {@code storedBytes})
 * @param garbageBytes their bytes
 * @param compactionBacklogObjects objects compaction would rewrite or drop if it ran now
 * @param compactionBacklogBytes their bytes
 * @param bytesRewritten bytes of objects written by compaction
 * @param objectsDeleted objects deleted by garbage collection (replaced and orphans)
 * @param requests requests sent to the object store, by operation (uploads, reads, compaction,
 *     manifest)
 */
public record StorageSummary(long objects, long streamSetObjects, long streamObjects, long storedBytes, long liveBytes,
        long garbageObjects, long garbageBytes, long compactionBacklogObjects, long compactionBacklogBytes,
        long bytesRewritten, long objectsDeleted, Map<Operation, Long> requests) {

    public StorageSummary {
        requests = Map.copyOf(requests);
    }

    /** Stored bytes per live byte (1.0 when nothing is live). */
    public double amplification() {
        return liveBytes == 0 ? 1.0 : (double) storedBytes / liveBytes;
    }
}
