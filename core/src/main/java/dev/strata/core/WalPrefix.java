package dev.strata.core;

import java.util.TreeMap;

/**
 * The WAL position below which every record has been handled (inserted into the LogCache, or
 * dropped because it was never acknowledged): the highest safe WAL trim point once the cache's
 * contents are in object storage.
 *
 * <p>Why it is needed: append callbacks can run in a different order than the WAL wrote the
 * records (a callback runs inline when its future completed before it was registered), so "the WAL
 * position of the last insert" may lie beyond a record whose callback has not run yet. Trimming
 * there could drop an acknowledged record before it reached object storage. Records chain: each
 * record's next position is the following record's position; this class advances only along that
 * chain. If the chain ever broke, trims would stop (and the WAL fill up, visibly), never skip data.
 *
 * <p>Thread-safe. Holds at most the records whose callbacks are running out of order: a handful.
 */
final class WalPrefix {
    // guarded by: this
    private long end;
    // guarded by: this; position -> next position of records handled beyond the prefix
    private final TreeMap<Long, Long> ahead = new TreeMap<>();

    WalPrefix(long start) {
        this.end = start;
    }

    /** Marks the record {@code [position, nextPosition)} handled. */
    synchronized void handled(long position, long nextPosition) {
        if (position != end) {
            ahead.put(position, nextPosition);
            return;
        }
        end = nextPosition;
        for (Long next; (next = ahead.remove(end)) != null; ) {
            end = next;
        }
    }

    /** Moves the prefix to {@code position} (recovery: everything below it was replayed or skipped). */
    synchronized void advanceTo(long position) {
        if (position > end) {
            end = position;
            ahead.headMap(end, true).clear();
        }
    }

    synchronized long end() {
        return end;
    }

    /** Records handled beyond the prefix (out of order); for tests and diagnostics. */
    synchronized int aheadCount() {
        return ahead.size();
    }
}
