package dev.strata.kafka;

import java.util.ArrayList;
import java.util.List;

/**
 * The aborted transactions of a partition that a read may still meet (Kafka's
 * {@code TransactionIndex}, one for the whole log instead of one per segment): entries in the order
 * their ABORT markers were written (so by {@link Entry#lastOffset()}), dropped once their marker is
 * below the log start offset. Kept in memory and in the meta-stream snapshots; a restart rebuilds
 * the entries after the snapshot from the data tail.
 *
 * <p>Not thread-safe: the owning {@link KafkaPartitionLog} guards it with its lock.
 */
final class AbortedTxnIndex {

    /**
     * One aborted transaction (Kafka's {@code AbortedTxn}).
     *
     * @param lastOffset the ABORT marker's offset
     * @param lastStableOffset the last stable offset when the marker was written (no transaction
     *     ending later can have begun below it)
     */
    record Entry(long producerId, long firstOffset, long lastOffset, long lastStableOffset) {
    }

    private final ArrayList<Entry> entries = new ArrayList<>();

    void append(Entry entry) {
        entries.add(entry);
    }

    /**
     * The aborted transactions that overlap {@code [fetchOffset, upperBoundOffset)}: ending at or
     * after {@code fetchOffset} and beginning before {@code upperBoundOffset}, oldest marker first
     * (Kafka's {@code TransactionIndex.collectAbortedTxns}, which stops at the first entry whose
     * last stable offset reaches the bound: no later one can begin below it).
     */
    List<AbortedTransaction> collect(long fetchOffset, long upperBoundOffset) {
        List<AbortedTransaction> out = new ArrayList<>(0);
        for (int i = firstEndingAtOrAfter(fetchOffset); i < entries.size(); i++) {
            Entry e = entries.get(i);
            if (e.firstOffset() < upperBoundOffset) {
                out.add(new AbortedTransaction(e.producerId(), e.firstOffset()));
            }
            if (e.lastStableOffset() >= upperBoundOffset) {
                break;
            }
        }
        return out;
    }

    private int firstEndingAtOrAfter(long offset) {
        int lo = 0;
        int hi = entries.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (entries.get(mid).lastOffset() < offset) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** Drops the entries whose marker is below {@code logStartOffset} (no read can meet them). */
    void truncateFromStart(long logStartOffset) {
        entries.subList(0, firstEndingAtOrAfter(logStartOffset)).clear();
    }

    /** A copy of the entries, oldest marker first (for a snapshot). */
    List<Entry> entries() {
        return List.copyOf(entries);
    }

    /** Puts the entries a snapshot kept, oldest marker first. */
    void load(List<Entry> loaded) {
        entries.clear();
        entries.addAll(loaded);
    }
}
