package dev.strata.kafka;

import dev.strata.api.AppendResult;
import dev.strata.api.CorruptDataException;
import dev.strata.api.FetchedBatch;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.Record;

/**
 * The partition's sparse time index: the data is cut into <b>intervals</b> of about
 * {@code indexIntervalBytes} of whole batches, and each closed interval is one fixed-size
 * {@link Entry} (its offsets, its bytes and the cumulative bytes before it, its largest batch max
 * timestamp and the first batch holding it, and the largest max timestamp of all intervals up to
 * it, the <i>prefix max</i>). Entries are appended to their own <b>index stream</b> (entry number =
 * index-stream offset; several entries per stream batch) when the log takes a snapshot, so that
 * every snapshot's data offset ends an interval and recovery rebuilds the open interval and the
 * unwritten entries by the same tail replay as the producer state. The index stream is trimmed to
 * the entry holding the log start offset.
 *
 * <p>Lookups binary-search the prefix max (monotone) over the entries, then read the data of
 * <b>one</b> interval: the first interval whose prefix max reaches a timestamp is the first with a
 * record at or above it. Two cases fall back to walking entries (not data) from the log start:
 * when data already trimmed held the larger timestamps (the prefix max of the first retained
 * interval is already reached), for a timestamp lookup and for -3. Retention walks entries from the
 * log start (each entry once per trim that passes it) and binary-searches cumulative bytes.
 *
 * <p>Thread-safety: the in-memory state is guarded by {@code this}; {@link #add} and
 * {@link #closeInterval} are called under the log's lock in offset order. Lookups copy the
 * in-memory part under the monitor, then read the index and data streams without it. Failure: the
 * futures fail with the streams' exceptions (the caller maps them to {@link LogStorageException}).
 */
final class TimeIndex {
    /** Bytes of one encoded entry. */
    static final int ENTRY_BYTES = 7 * 8;

    private static final int FETCH_BYTES = 1 << 20;

    /**
     * One closed interval {@code [firstOffset, nextOffset)} of whole batches.
     *
     * @param bytesBefore data bytes appended to the log before {@code firstOffset} (since the index began)
     * @param bytes data bytes of the interval
     * @param maxTimestamp the largest batch max timestamp in the interval
     * @param maxOffset base offset of the first batch of the interval with {@code maxTimestamp}
     * @param prefixMax the largest {@code maxTimestamp} of this and all earlier intervals
     */
    record Entry(long firstOffset, long nextOffset, long bytesBefore, long bytes, long maxTimestamp, long maxOffset,
                 long prefixMax) {
        void encode(ByteBuffer b) {
            b.putLong(firstOffset).putLong(nextOffset).putLong(bytesBefore).putLong(bytes).putLong(maxTimestamp)
                    .putLong(maxOffset).putLong(prefixMax);
        }

        static Entry decode(ByteBuffer b) {
            return new Entry(b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getLong());
        }
    }

    /** The answer batch of a lookup: the stored Kafka batch's first record at or above a timestamp. */
    record Found(long timestamp, long offset, OptionalInt leaderEpoch) {
    }

    private final Stream data;
    private final Stream index; // null: entries are kept in memory only (a log opened without a meta stream)
    private final long intervalBytes;
    private final int maxEntriesPerBatch;
    // guarded by: this
    private long flushedEnd; // index-stream offset after the last entry written
    private final List<Entry> unwritten = new ArrayList<>(); // closed entries at [flushedEnd, ...)
    private long openFirst = -1; // -1: the open interval is empty
    private long openNext;
    private long openBytesBefore;
    private long openBytes;
    private long openMax;
    private long openMaxOffset;
    private long prefixMax = Long.MIN_VALUE; // of the closed entries

    private TimeIndex(Stream data, Stream index, long intervalBytes, int maxBatchBytes) {
        this.data = data;
        this.index = index;
        this.intervalBytes = intervalBytes;
        this.maxEntriesPerBatch = Math.max(1, maxBatchBytes / ENTRY_BYTES);
        this.flushedEnd = index == null ? 0 : index.nextOffset();
    }

    /** An index whose entries live in memory only (no index stream). */
    static TimeIndex inMemory(Stream data, long intervalBytes) {
        return new TimeIndex(data, null, intervalBytes, Integer.MAX_VALUE);
    }

    /** A new, empty index on the new stream {@code index}. */
    static TimeIndex create(Stream data, Stream index, long intervalBytes, int maxBatchBytes) {
        return new TimeIndex(data, index, intervalBytes, maxBatchBytes);
    }

    /**
     * Opens the index kept in {@code index}: reads its last entry (one fetch). The caller then
     * replays the data from {@link #replayFrom()} with {@link #add}.
     */
    static CompletableFuture<TimeIndex> open(Stream data, Stream index, long intervalBytes, int maxBatchBytes) {
        TimeIndex t = new TimeIndex(data, index, intervalBytes, maxBatchBytes);
        long end = index.nextOffset();
        if (end == index.startOffset()) {
            t.openBytesBefore = 0;
            return CompletableFuture.completedFuture(t);
        }
        return t.durableEntry(end - 1).thenApply(last -> {
            t.prefixMax = last.prefixMax();
            t.openBytesBefore = last.bytesBefore() + last.bytes();
            t.openNext = last.nextOffset();
            return t;
        });
    }

    /** The data offset from which batches must be replayed into this index after {@link #open}. */
    synchronized long replayFrom() {
        return openFirst >= 0 ? openFirst : openNext;
    }

    /**
     * Adds one stored batch (in offset order; a batch ending at or below the indexed end is ignored,
     * so a replay may start early).
     */
    synchronized void add(long baseOffset, long nextOffset, int sizeBytes, long maxTimestamp) {
        if (nextOffset <= openNext) {
            return;
        }
        if (openFirst < 0) {
            openFirst = baseOffset;
            openBytes = 0;
            openMax = maxTimestamp;
            openMaxOffset = baseOffset;
        } else if (maxTimestamp > openMax) {
            openMax = maxTimestamp;
            openMaxOffset = baseOffset;
        }
        openNext = nextOffset;
        openBytes += sizeBytes;
        if (openBytes >= intervalBytes) {
            closeInterval();
        }
    }

    /** Closes the open interval (if it holds a batch), so that the indexed data ends at the log's assigned end. */
    synchronized void closeInterval() {
        if (openFirst < 0) {
            return;
        }
        prefixMax = Math.max(prefixMax, openMax);
        unwritten.add(new Entry(openFirst, openNext, openBytesBefore, openBytes, openMax, openMaxOffset, prefixMax));
        openBytesBefore += openBytes;
        openFirst = -1;
        openBytes = 0;
    }

    /**
     * Writes the closed entries not yet written to the index stream (several per stream batch);
     * they stay in memory until written, so a failed write is retried by the next call. Calls must
     * not overlap (the log runs them in its snapshot chain).
     */
    CompletableFuture<Void> writeClosed() {
        List<Entry> toWrite;
        synchronized (this) {
            if (index == null || unwritten.isEmpty()) {
                return CompletableFuture.completedFuture(null);
            }
            toWrite = List.copyOf(unwritten);
        }
        List<CompletableFuture<AppendResult>> appends = new ArrayList<>();
        for (int from = 0; from < toWrite.size(); from += maxEntriesPerBatch) {
            List<Entry> part = toWrite.subList(from, Math.min(toWrite.size(), from + maxEntriesPerBatch));
            ByteBuffer b = ByteBuffer.allocate(part.size() * ENTRY_BYTES);
            part.forEach(e -> e.encode(b));
            appends.add(index.append(RecordBatch.of(part.size(), b.flip())));
        }
        return CompletableFuture.allOf(appends.toArray(CompletableFuture[]::new)).thenRun(() -> {
            synchronized (this) {
                unwritten.subList(0, toWrite.size()).clear();
                flushedEnd += toWrite.size();
            }
        });
    }

    /** Trims the index stream to the entry holding {@code logStartOffset} (entries below it are no longer needed). */
    CompletableFuture<Void> trimTo(View v, long logStartOffset) {
        if (index == null) {
            synchronized (this) {
                while (!unwritten.isEmpty() && unwritten.get(0).nextOffset() <= logStartOffset) {
                    unwritten.remove(0);
                    flushedEnd++;
                }
            }
            return CompletableFuture.completedFuture(null);
        }
        return v.first(v.start, e -> e.nextOffset() > logStartOffset).thenCompose(pos -> {
            long to = Math.min(pos, v.durableEnd);
            return to > index.startOffset() ? index.trim(to) : CompletableFuture.completedFuture(null);
        });
    }

    /**
     * The entries at this moment (call under the log's lock, so that they cover exactly the batches
     * assigned so far); lookups run on it once those batches are durable.
     */
    synchronized View view() {
        List<Entry> memory = new ArrayList<>(unwritten);
        if (openFirst >= 0) {
            memory.add(new Entry(openFirst, openNext, openBytesBefore, openBytes, openMax, openMaxOffset,
                    Math.max(prefixMax, openMax)));
        }
        long start = index == null ? flushedEnd : Math.min(index.startOffset(), flushedEnd);
        return new View(start, flushedEnd, memory, openNext, openBytesBefore + openBytes);
    }

    /**
     * The entries at one moment: index-stream entries {@code [start, durableEnd)}, then
     * {@code memory} (unwritten closed entries and the open interval), covering the data below
     * {@code dataEnd}, which holds {@code totalBytes} bytes since the index began.
     */
    final class View {
        final long start;
        final long durableEnd;
        final List<Entry> memory;
        final long end;
        final long dataEnd;
        final long totalBytes;

        View(long start, long durableEnd, List<Entry> memory, long dataEnd, long totalBytes) {
            this.start = start;
            this.durableEnd = durableEnd;
            this.memory = memory;
            this.end = durableEnd + memory.size();
            this.dataEnd = dataEnd;
            this.totalBytes = totalBytes;
        }

        CompletableFuture<Entry> at(long pos) {
            return pos >= durableEnd ? CompletableFuture.completedFuture(memory.get((int) (pos - durableEnd))) : durableEntry(pos);
        }

        /** The smallest position in {@code [lo, end)} whose entry satisfies {@code p} (monotone), or {@code end}. */
        CompletableFuture<Long> first(long lo, Predicate<Entry> p) {
            return first(lo, end, p);
        }

        private CompletableFuture<Long> first(long lo, long hi, Predicate<Entry> p) {
            if (lo >= hi) {
                return CompletableFuture.completedFuture(hi);
            }
            long mid = lo + (hi - lo) / 2;
            return at(mid).thenCompose(e -> p.test(e) ? first(lo, mid, p) : first(mid + 1, hi, p));
        }
    }

    private CompletableFuture<Entry> durableEntry(long pos) {
        return index.fetch(pos, pos + 1, ENTRY_BYTES).thenApply(r -> {
            try (r) {
                if (r.isEmpty()) {
                    throw new CorruptDataException("time index stream " + index.id() + " has no entry " + pos);
                }
                FetchedBatch b = r.batches().get(0);
                ByteBuffer p = b.payload();
                int at = (int) (pos - b.baseOffset()) * ENTRY_BYTES;
                if (pos < b.baseOffset() || at + ENTRY_BYTES > p.remaining()) {
                    throw new CorruptDataException("time index stream " + index.id() + ": batch at " + b.baseOffset()
                            + " of " + b.count() + " entries and " + p.remaining() + " bytes has no entry " + pos);
                }
                return Entry.decode(p.position(at));
            }
        });
    }

    /**
     * Kafka's lookup of a real timestamp: the first record at or after {@code logStartOffset} (in
     * offset order) whose timestamp is at least {@code target}, with its batch's leader epoch, or
     * empty. Reads the data of one interval, except when trimmed data held larger timestamps.
     */
    CompletableFuture<Optional<Found>> firstAtOrAfter(View v, long target, long logStartOffset) {
        long dataEnd = v.dataEnd;
        return v.first(v.start, e -> e.nextOffset() > logStartOffset).thenCompose(s -> {
            if (s >= v.end) {
                return CompletableFuture.completedFuture(Optional.empty());
            }
            return v.at(s).thenCompose(first -> {
                if (first.prefixMax() < target) {
                    // nothing before interval s reached target: the first interval reaching it holds the answer
                    return v.first(s + 1, e -> e.prefixMax() >= target)
                            .thenCompose(k -> walkForTimestamp(v, k, target, logStartOffset, dataEnd));
                }
                return walkForTimestamp(v, s, target, logStartOffset, dataEnd);
            });
        });
    }

    private CompletableFuture<Optional<Found>> walkForTimestamp(View v, long pos, long target, long logStartOffset,
                                                                long dataEnd) {
        if (pos >= v.end) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        return v.at(pos).thenCompose(e -> {
            CompletableFuture<Optional<Found>> here = e.maxTimestamp() >= target
                    ? scanForTimestamp(target, Math.max(e.firstOffset(), logStartOffset), Math.min(e.nextOffset(), dataEnd), logStartOffset)
                    : CompletableFuture.completedFuture(Optional.empty());
            return here.thenCompose(f -> f.isPresent() ? CompletableFuture.completedFuture(f)
                    : walkForTimestamp(v, pos + 1, target, logStartOffset, dataEnd));
        });
    }

    /** Kafka's {@code FileRecords.searchForTimestamp} over the stored batches of {@code [from, to)}. */
    private CompletableFuture<Optional<Found>> scanForTimestamp(long target, long from, long to, long logStartOffset) {
        Found[] found = new Found[1];
        return forEachKafkaBatch(from, to, batch -> {
            if (found[0] == null && batch.maxTimestamp() >= target) {
                for (Record r : batch) {
                    if (r.timestamp() >= target && r.offset() >= logStartOffset) {
                        found[0] = new Found(r.timestamp(), r.offset(), epochOf(batch));
                        break;
                    }
                }
            }
            return found[0] == null;
        }).thenApply(v -> Optional.ofNullable(found[0]));
    }

    /**
     * Kafka's -3 (MAX_TIMESTAMP) over the retained batches: the first batch (in offset order) with
     * the largest max timestamp, its first record with that timestamp, and the batch's leader
     * epoch; empty if the log holds no batch.
     */
    CompletableFuture<Optional<Found>> maxTimestamp(View v, long logStartOffset) {
        long dataEnd = v.dataEnd;
        if (v.end == v.start || logStartOffset >= dataEnd) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        return v.at(v.end - 1).thenCompose(last -> v.first(v.start, e -> e.nextOffset() > logStartOffset)
                .thenCompose(s -> v.first(s, e -> e.prefixMax() >= last.prefixMax()).thenCompose(k -> v.at(k).thenCompose(e -> {
                    if (k > s || (e.maxTimestamp() == last.prefixMax() && e.maxOffset() >= logStartOffset)) {
                        // it holds the largest max timestamp, and every retained batch before it a smaller one
                        return batchAnswer(e.maxOffset(), logStartOffset);
                    }
                    // the largest max timestamp was reached in trimmed data, or below the log start
                    // in the first retained interval: find the largest of the retained batches
                    return retainedMax(v, s, logStartOffset, dataEnd).thenCompose(base -> batchAnswer(base, logStartOffset));
                }))));
    }

    /** Base offset of the first retained batch with the largest max timestamp, walking entries from {@code s}. */
    private CompletableFuture<Long> retainedMax(View v, long s, long logStartOffset, long dataEnd) {
        long[] best = {Long.MIN_VALUE, -1};
        return v.at(s).thenCompose(first -> forEachKafkaBatch(logStartOffset, Math.min(first.nextOffset(), dataEnd), batch -> {
            if (best[1] < 0 || batch.maxTimestamp() > best[0]) {
                best[0] = batch.maxTimestamp();
                best[1] = batch.baseOffset();
            }
            return true;
        })).thenCompose(x -> walkMax(v, s + 1, best)).thenApply(x -> best[1]);
    }

    private CompletableFuture<Void> walkMax(View v, long pos, long[] best) {
        if (pos >= v.end) {
            return CompletableFuture.completedFuture(null);
        }
        return v.at(pos).thenCompose(e -> {
            if (best[1] < 0 || e.maxTimestamp() > best[0]) {
                best[0] = e.maxTimestamp();
                best[1] = e.maxOffset();
            }
            return walkMax(v, pos + 1, best);
        });
    }

    /** -3's answer from the batch at {@code batchBase} (which may hold the log start offset: it is read from there). */
    private CompletableFuture<Optional<Found>> batchAnswer(long batchBase, long logStartOffset) {
        if (batchBase < 0) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        Found[] found = new Found[1];
        long from = Math.max(batchBase, logStartOffset);
        return forEachKafkaBatch(from, from + 1, batch -> {
            batch.offsetOfMaxTimestamp().ifPresent(o -> found[0] = new Found(batch.maxTimestamp(), o, epochOf(batch)));
            return false;
        }).thenApply(x -> Optional.ofNullable(found[0]));
    }

    /**
     * Retention by time: the base offset of the first retained batch whose max timestamp is at
     * least {@code threshold}, or {@code dataEnd} if every batch below it is older.
     */
    CompletableFuture<Long> firstNotOlderThan(View v, long threshold, long logStartOffset) {
        long dataEnd = v.dataEnd;
        return v.first(v.start, e -> e.nextOffset() > logStartOffset).thenCompose(s -> s >= v.end
                ? CompletableFuture.completedFuture(dataEnd)
                : v.at(s).thenCompose(first -> first.prefixMax() < threshold
                        // nothing up to interval s is that new: the first interval whose prefix max is holds the batch
                        ? v.first(s + 1, e -> e.prefixMax() >= threshold)
                                .thenCompose(k -> walkForRetention(v, k, threshold, logStartOffset, dataEnd))
                        : walkForRetention(v, s, threshold, logStartOffset, dataEnd)));
    }

    private CompletableFuture<Long> walkForRetention(View v, long pos, long threshold, long logStartOffset, long dataEnd) {
        if (pos >= v.end) {
            return CompletableFuture.completedFuture(dataEnd);
        }
        return v.at(pos).thenCompose(e -> {
            if (e.maxTimestamp() < threshold || e.firstOffset() >= dataEnd) {
                return e.firstOffset() >= dataEnd ? CompletableFuture.completedFuture(dataEnd)
                        : walkForRetention(v, pos + 1, threshold, logStartOffset, dataEnd);
            }
            long[] at = {-1};
            return forEachKafkaBatch(Math.max(e.firstOffset(), logStartOffset), Math.min(e.nextOffset(), dataEnd), batch -> {
                if (batch.maxTimestamp() >= threshold) {
                    at[0] = batch.baseOffset();
                    return false;
                }
                return true;
            }).thenCompose(x -> at[0] >= 0 ? CompletableFuture.completedFuture(at[0])
                    : walkForRetention(v, pos + 1, threshold, logStartOffset, dataEnd));
        });
    }

    /**
     * Retention by size: the largest batch base offset {@code t} (at most {@code dataEnd}) such that
     * the batches from {@code t} to the end hold at least {@code keepBytes}, or {@code logStartOffset}
     * if no batch may go.
     */
    CompletableFuture<Long> firstToKeepForSize(View v, long keepBytes, long logStartOffset) {
        long dataEnd = v.dataEnd;
        long limit = v.totalBytes - keepBytes; // a batch may be the new start if the bytes before it are at most this
        return v.first(v.start, e -> e.nextOffset() > logStartOffset).thenCompose(s -> v.first(s, e -> e.bytesBefore() > limit)
                .thenCompose(after -> {
                    if (after.longValue() == s.longValue()) { // boxed positions: == on Long holds below 128 only
                        return CompletableFuture.completedFuture(logStartOffset);
                    }
                    return v.at(after - 1).thenCompose(e -> {
                        // cumulative bytes before each batch, from the interval's end backwards
                        List<long[]> batches = new ArrayList<>(); // {base, size}
                        return forEachKafkaBatch(Math.max(e.firstOffset(), logStartOffset), Math.min(e.nextOffset(), dataEnd), b -> {
                            // a gap filler counts no bytes, as when it was indexed
                            batches.add(new long[] {b.baseOffset(), GapFiller.isFiller(b) ? 0 : b.sizeInBytes()});
                            return true;
                        }).thenApply(x -> {
                            long cumAfter = e.bytesBefore() + e.bytes();
                            for (int i = batches.size() - 1; i >= 0; i--) {
                                cumAfter -= batches.get(i)[1];
                            }
                            long best = logStartOffset;
                            long cum = cumAfter; // bytes before the first scanned batch
                            for (long[] b : batches) {
                                if (cum <= limit) {
                                    best = Math.max(best, b[0]);
                                }
                                cum += b[1];
                            }
                            if (cum <= limit && e.nextOffset() <= dataEnd) {
                                best = Math.max(best, e.nextOffset());
                            }
                            return Math.min(best, dataEnd);
                        });
                    });
                }));
    }

    /**
     * Hands each Kafka batch stored in {@code [from, to)} (starting with the one holding
     * {@code from}) to {@code each} until it returns false.
     */
    private CompletableFuture<Void> forEachKafkaBatch(long from, long to,
                                                      Predicate<org.apache.kafka.common.record.internal.RecordBatch> each) {
        if (from >= to) {
            return CompletableFuture.completedFuture(null);
        }
        return data.fetch(from, to, FETCH_BYTES).thenCompose(r -> {
            long next;
            try (r) {
                if (r.isEmpty()) {
                    return CompletableFuture.completedFuture(null);
                }
                for (FetchedBatch stored : r.batches()) {
                    for (org.apache.kafka.common.record.internal.RecordBatch batch
                            : MemoryRecords.readableRecords(stored.payload()).batches()) {
                        if (!each.test(batch)) {
                            return CompletableFuture.completedFuture(null);
                        }
                    }
                }
                next = r.nextOffset(from);
            }
            return forEachKafkaBatch(next, to, each);
        });
    }

    private static OptionalInt epochOf(org.apache.kafka.common.record.internal.RecordBatch batch) {
        return batch.partitionLeaderEpoch() >= 0 ? OptionalInt.of(batch.partitionLeaderEpoch()) : OptionalInt.empty();
    }
}
