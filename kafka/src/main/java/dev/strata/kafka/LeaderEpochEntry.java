package dev.strata.kafka;

/**
 * One entry of the leader-epoch cache: leader epoch {@code epoch} wrote its first batch at
 * {@code startOffset} (or the log start offset, if that is later).
 */
public record LeaderEpochEntry(int epoch, long startOffset) {
}
