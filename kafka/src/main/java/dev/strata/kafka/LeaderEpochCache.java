package dev.strata.kafka;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;

/**
 * The leader-epoch cache of one partition: for each leader epoch the first offset written in it,
 * with the rules of Kafka 4.3.1's {@code LeaderEpochFileCache} ({@code assign},
 * {@code truncateFromStart}, {@code truncateFromEnd}, {@code endOffsetFor}).
 *
 * <p>Not thread-safe: the owning {@link KafkaPartitionLog} guards it with its lock.
 */
final class LeaderEpochCache {

    private final TreeMap<Integer, Long> epochs = new TreeMap<>();

    /**
     * Records that {@code epoch} starts at {@code startOffset}, unless the latest entry is already
     * this epoch at an offset at or below it. Entries of the same or a later epoch, or starting at or
     * after {@code startOffset}, are removed first (monotonicity).
     *
     * @return whether the entries changed
     */
    boolean assign(int epoch, long startOffset) {
        if (epoch < 0 || startOffset < 0) {
            throw new IllegalArgumentException("invalid leader epoch entry: epoch=" + epoch + " startOffset=" + startOffset);
        }
        Map.Entry<Integer, Long> latest = epochs.lastEntry();
        if (latest != null && latest.getKey() == epoch && startOffset >= latest.getValue()) {
            return false;
        }
        Iterator<Map.Entry<Integer, Long>> it = epochs.descendingMap().entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Integer, Long> e = it.next();
            if (e.getKey() >= epoch || e.getValue() >= startOffset) {
                it.remove();
            } else {
                break;
            }
        }
        epochs.put(epoch, startOffset);
        return true;
    }

    /**
     * The log start offset moved to {@code startOffset}: entries starting at or below it are
     * dropped except the last of them, which now starts at {@code startOffset}.
     */
    void truncateFromStart(long startOffset) {
        Integer keep = null;
        Iterator<Map.Entry<Integer, Long>> it = epochs.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Integer, Long> e = it.next();
            if (e.getValue() > startOffset) {
                break;
            }
            keep = e.getKey();
            it.remove();
        }
        if (keep != null) {
            epochs.put(keep, startOffset);
        }
    }

    /** Drops entries starting at or after {@code endOffset} (no data in them). */
    void truncateFromEnd(long endOffset) {
        while (!epochs.isEmpty() && epochs.lastEntry().getValue() >= endOffset) {
            epochs.pollLastEntry();
        }
    }

    /**
     * OffsetForLeaderEpoch's answer ({@code LeaderEpochFileCache.endOffsetFor}): the largest known
     * epoch at or below {@code requested} and the start offset of the next known epoch, or the log
     * end offset for the latest epoch; undefined (-1, -1) for -1 or an epoch beyond the latest.
     */
    EpochEndOffset endOffsetFor(int requested, long logEndOffset) {
        if (requested == EpochEndOffset.UNDEFINED_EPOCH) {
            return EpochEndOffset.UNDEFINED;
        }
        if (!epochs.isEmpty() && epochs.lastKey() == requested) {
            return new EpochEndOffset(requested, logEndOffset);
        }
        Map.Entry<Integer, Long> higher = epochs.higherEntry(requested);
        if (higher == null) {
            return EpochEndOffset.UNDEFINED;
        }
        Map.Entry<Integer, Long> floor = epochs.floorEntry(requested);
        return floor == null
                ? new EpochEndOffset(requested, higher.getValue())
                : new EpochEndOffset(floor.getKey(), higher.getValue());
    }

    OptionalInt latestEpoch() {
        return epochs.isEmpty() ? OptionalInt.empty() : OptionalInt.of(epochs.lastKey());
    }

    List<LeaderEpochEntry> entries() {
        List<LeaderEpochEntry> out = new ArrayList<>(epochs.size());
        epochs.forEach((epoch, start) -> out.add(new LeaderEpochEntry(epoch, start)));
        return out;
    }

    /** Replaces the content with {@code entries} (from a snapshot). */
    void load(List<LeaderEpochEntry> entries) {
        epochs.clear();
        entries.forEach(e -> epochs.put(e.epoch(), e.startOffset()));
    }
}
