package dev.strata.kafka;

/**
 * The answer to an OffsetForLeaderEpoch request for one partition, as Kafka's
 * {@code LeaderEpochFileCache.endOffsetFor} computes it: the largest leader epoch at or below the
 * requested one that this log knows, and the offset where it ended (the start of the next epoch,
 * or the log end offset for the latest epoch). Both are -1 when undefined (the requested epoch is
 * -1 or above every known epoch, or the cache is empty), which the response carries as
 * {@code UNDEFINED_EPOCH} / {@code UNDEFINED_EPOCH_OFFSET}.
 */
public record EpochEndOffset(int leaderEpoch, long endOffset) {
    /** Kafka's {@code UNDEFINED_EPOCH}. */
    public static final int UNDEFINED_EPOCH = -1;
    /** Kafka's {@code UNDEFINED_EPOCH_OFFSET}. */
    public static final long UNDEFINED_EPOCH_OFFSET = -1L;
    static final EpochEndOffset UNDEFINED = new EpochEndOffset(UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
}
