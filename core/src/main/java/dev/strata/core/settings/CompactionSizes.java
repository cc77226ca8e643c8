package dev.strata.core.settings;

/**
 * What compaction works with, derived from {@link CompactionSettings} and the other settings by
 * {@link StoreSizing} (the planner's limits in {@code CompactionPlanner}'s terms). Immutable.
 *
 * @param targetObjectBytes size the objects compaction writes aim at
 * @param splitBytes live bytes at which a stream's run in stream-set objects becomes a stream object
 *     (the upload's {@code streamObjectThresholdBytes})
 * @param splitAgeMillis age at which it does so whatever its size
 * @param maxDeadFraction share of dead bytes above which an object is rewritten
 * @param maxInputBytes most bytes of stream-set objects one cycle takes as input
 * @param maxSmallObjects small stream objects of one stream that are merged even below half the target
 * @param readChunkBytes most bytes of adjacent blocks one compaction read fetches
 * @param taskBytes most memory one compaction task holds: a read chunk (or one block and one batch, if
 *     larger) and the batches of the previous chunk still in the object being written
 */
public record CompactionSizes(long targetObjectBytes, long splitBytes, long splitAgeMillis, double maxDeadFraction,
        long maxInputBytes, int maxSmallObjects, long readChunkBytes, long taskBytes) {
}
