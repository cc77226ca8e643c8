package dev.strata.kafka;

import dev.strata.api.AppendResult;
import dev.strata.api.BackpressureException;
import dev.strata.api.CorruptDataException;
import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.OffsetOutOfRangeException;
import dev.strata.api.RecordBatch;
import dev.strata.api.RecordTooLargeException;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.api.StreamStore;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.requests.DeleteRecordsRequest;
import org.apache.kafka.common.requests.ListOffsetsRequest;

/**
 * One Kafka topic-partition stored in Strata streams, with Kafka's leader-side semantics: produced
 * v2 batches are validated with Kafka's own classes, get their offsets, timestamp and partition
 * leader epoch stamped in place, and are stored byte for byte in the <b>data stream</b>, one Kafka
 * batch per stream batch, so that <b>stream offset == Kafka offset</b>. Reads return whole stored
 * batches as Kafka {@link MemoryRecords}, in a {@link ReadResult} the caller closes (a read of one
 * batch is a view of Strata's fetch buffer, without copying). A second, <b>meta stream</b> holds snapshots of the state
 * that is not data (idempotent producers, leader-epoch cache); see the module README.
 *
 * <h2>Offsets</h2>
 * The log end offset is the stream's {@link Stream#nextOffset()}: an append is acknowledged only
 * once durable, so the high watermark equals the log end offset (a single durable copy plays the
 * role of the in-sync replicas). The log start offset is the stream's {@link Stream#startOffset()}:
 * {@link #deleteRecords} trims the stream at exactly the requested offset, and a Strata stream keeps
 * that offset exactly, returns the batch containing it whole, and keeps both across restarts, as
 * Kafka does with {@code maybeIncrementLogStartOffset}.
 *
 * <h2>Idempotent producers and leader epochs</h2>
 * Per producer id the log keeps the producer epoch and its last five batches (Kafka's
 * {@code ProducerStateEntry}, with its coordinator epoch and ongoing transaction); a retry of one of them answers with the original offsets without
 * storing it again, other sequence or epoch faults fail (see {@link #appendAsLeader}). Each leader
 * epoch's first offset is recorded when an append first carries it ({@link #endOffsetForEpoch}).
 * Producers idle for {@link PartitionLogConfig#producerIdExpirationMs()} are forgotten by
 * {@link #removeExpiredProducers()} (which the broker schedules) and when a snapshot is loaded.
 *
 * <h2>Recovery</h2>
 * A snapshot of that state, valid up to a data offset, is written to the meta stream every
 * {@link PartitionLogConfig#snapshotIntervalBytes()} of data, when {@link #deleteRecords} moves the
 * log start offset past the newest snapshot, and at {@link #close()}; {@link #open(StreamStore, long,
 * long, long, PartitionLogConfig)} reads the newest snapshot and replays only the data after it.
 *
 * <h2>Transactions</h2>
 * Transactional producers' batches begin a transaction per producer at their first offset;
 * {@link #appendTxnMarker} writes the coordinator's COMMIT / ABORT marker that ends it. The
 * {@linkplain #lastStableOffset() last stable offset} stops at the oldest undecided transaction;
 * {@link Isolation#TXN_COMMITTED} reads stop there and list the aborted transactions they overlap.
 * Ongoing transactions and the aborted transactions still above the log start offset are part of
 * the snapshots and of the replayed tail.
 *
 * <h2>Offsets by time and retention</h2>
 * A third, <b>time-index stream</b> ({@link #timeIndexStreamId()}, recorded in the snapshots) holds
 * one entry per {@link PartitionLogConfig#indexIntervalBytes()} of data, written with each snapshot;
 * {@link #fetchOffsetByTimestamp} and {@link #applyRetention()} search it and read the data of one
 * interval instead of scanning the log (see {@code TimeIndex}).
 *
 * <h2>Concurrency</h2>
 * All methods are thread-safe. {@code lock} guards {@code assignedEnd} (the offset the next
 * append receives, in-flight appends included), {@code appendFailure}, the producer state (with
 * the ongoing transactions), the aborted transactions, the leader-epoch cache and the snapshot
 * bookkeeping; it is held while a batch is checked, stamped and
 * handed to {@link Stream#append}, so that stream offsets and stamped Kafka offsets cannot diverge
 * and the producer state follows the order of the data. Validation (record iteration,
 * decompression) runs before the lock. Snapshots are written one after the other, each once the
 * data it covers is durable, on the common fork-join pool.
 *
 * <h2>Durability</h2>
 * The future of {@link #appendAsLeader} completes when the stream has made the batch durable; an
 * answer to a duplicate completes once the original batch (and those before it) is durable.
 *
 * <h2>Failure</h2>
 * Futures fail with {@link KafkaLogException} subclasses whose {@link KafkaLogException#error()} is
 * the Kafka error code to answer with. A failed stream append fails every later in-flight append
 * (Strata's rule: no holes); the log then refuses appends with {@link LogStorageException} until it
 * is closed and re-opened (which rebuilds the producer state from durable data). The exceptions: a
 * batch above the store's own batch limit, and an append refused by backpressure, are refused by the
 * stream at once, before it takes an offset, so they fail alone (MESSAGE_TOO_LARGE,
 * REQUEST_TIMED_OUT) and the log goes on. A failed snapshot write does not fail any append: the
 * next snapshot replaces it, and until then a reopen replays more data; {@link #close()} reports it.
 *
 * <h2>Backpressure</h2>
 * None of its own: no queue or buffer here grows (at most one snapshot per
 * {@code snapshotIntervalBytes} of data waits for its data to be durable). When the store applies
 * backpressure, the append waits inside {@link Stream#append} (bounded by the store's setting) while
 * holding {@code lock}, so later appends of this partition wait behind it in order, then fails
 * with a {@link LogStorageException} answering {@code REQUEST_TIMED_OUT} (retriable).
 */
public final class KafkaPartitionLog implements AutoCloseable {

    /** Bytes per stream fetch when reading snapshots and replaying the data tail. */
    private static final int RECOVERY_FETCH_BYTES = 1 << 20;

    private final Stream stream;
    private final Stream meta; // null when opened without a meta stream (no snapshots)
    private final PartitionLogConfig config;
    private final Object lock = new Object();
    private long assignedEnd; // guarded by: lock
    private Throwable appendFailure; // guarded by: lock
    private final ProducerStateTable producers; // guarded by: lock
    private final LeaderEpochCache epochs; // guarded by: lock
    private final AbortedTxnIndex aborted; // guarded by: lock
    private final TimeIndex timeIndex; // fed under lock, in offset order
    private final Stream index; // the time index's stream; null when opened without a meta stream
    private CompletableFuture<?> lastAppend = CompletableFuture.completedFuture(null); // guarded by: lock
    private long bytesSinceSnapshot; // guarded by: lock
    private long snapshotOffset; // guarded by: lock; data offset of the newest snapshot scheduled or loaded, -1 if none
    private CompletableFuture<Void> snapshotWrites = CompletableFuture.completedFuture(null); // guarded by: lock
    private boolean closed; // guarded by: lock
    private volatile Throwable snapshotFailure; // the last snapshot write's failure, null once one succeeds

    private KafkaPartitionLog(Stream stream, Stream meta, Stream index, TimeIndex timeIndex, PartitionLogConfig config,
                              ProducerStateTable producers, LeaderEpochCache epochs, AbortedTxnIndex aborted,
                              long snapshotOffset) {
        this.stream = stream;
        this.meta = meta;
        this.index = index;
        this.timeIndex = timeIndex;
        this.config = config;
        this.producers = producers;
        this.epochs = epochs;
        this.aborted = aborted;
        this.snapshotOffset = snapshotOffset;
        this.assignedEnd = stream.nextOffset();
    }

    /**
     * Creates an empty partition log on two new streams of {@code store}: the data stream and the
     * meta stream. Keep both {@link #streamId()} and {@link #metaStreamId()}: they are how the
     * partition is found again ({@link #open(StreamStore, long, long, long, PartitionLogConfig)}).
     *
     * @param epoch the stream epoch of this holder (see {@link StreamStore}); a new leader opens with a higher one
     * @return the open log; fails with {@link LogStorageException} (the data stream is deleted again
     *     if the meta stream cannot be created)
     */
    public static CompletableFuture<KafkaPartitionLog> create(StreamStore store, long epoch, PartitionLogConfig config) {
        return create(store, StreamOptions.defaults().withEpoch(epoch), config);
    }

    /**
     * As {@link #create(StreamStore, long, PartitionLogConfig)}, with every stream of the log (data,
     * meta and time index) created with {@code options}: its epoch, and its tenant and tags
     * ({@link dev.strata.api.StreamLabels}), so that all three count against the tenant's quotas,
     * are encrypted under its key and are listed with it.
     */
    public static CompletableFuture<KafkaPartitionLog> create(StreamStore store, StreamOptions options,
                                                              PartitionLogConfig config) {
        requireArgs(store, config);
        java.util.Objects.requireNonNull(options, "options");
        long epoch = options.epoch();
        return store.createStream(options)
                .handle((data, error) -> {
                    if (error != null) {
                        throw new LogStorageException("cannot create the partition's data stream: epoch=" + epoch, unwrap(error));
                    }
                    return data;
                })
                .thenCompose(data -> store.createStream(options).handle((meta, error) -> {
                    if (error != null) {
                        data.close().thenCompose(v -> store.deleteStream(data.id(), epoch));
                        throw new LogStorageException("cannot create the partition's meta stream: epoch=" + epoch
                                + " dataStreamId=" + data.id(), unwrap(error));
                    }
                    return meta;
                }).thenCompose(meta -> store.createStream(options).handle((index, error) -> {
                    if (error != null) {
                        data.close().thenCompose(v -> store.deleteStream(data.id(), epoch));
                        meta.close().thenCompose(v -> store.deleteStream(meta.id(), epoch));
                        throw new LogStorageException("cannot create the partition's time-index stream: epoch=" + epoch
                                + " dataStreamId=" + data.id() + " metaStreamId=" + meta.id(), unwrap(error));
                    }
                    return new KafkaPartitionLog(data, meta, index, TimeIndex.create(data, index, config.indexIntervalBytes(),
                            config.metaChunkBytes()), config, new ProducerStateTable(), new LeaderEpochCache(), new AbortedTxnIndex(), -1);
                })))
                .thenCompose(KafkaPartitionLog::writeFirstSnapshot);
    }

    /** The empty state's snapshot, which records the time-index stream's id where {@code open} finds it. */
    private static CompletableFuture<KafkaPartitionLog> writeFirstSnapshot(KafkaPartitionLog log) {
        CompletableFuture<Void> written;
        synchronized (log.lock) {
            written = log.snapshotLocked();
        }
        return written.thenApply(v -> {
            Throwable failed = log.snapshotFailure;
            if (failed != null) {
                CompletableFuture.allOf(log.stream.close(), log.meta.close(), log.index.close());
                throw new LogStorageException("cannot write the partition's first snapshot: streamId=" + log.streamId()
                        + " metaStreamId=" + log.metaStreamId(), failed);
            }
            return log;
        });
    }

    /**
     * Opens the partition log kept in data stream {@code streamId} and meta stream
     * {@code metaStreamId}, fencing any holder with a lower epoch. The log end and start offsets are
     * those the data stream kept; the producer state and leader-epoch cache come from the newest
     * snapshot in the meta stream plus the data appended after it (only that tail is read).
     *
     * @return the open log; fails with {@link LogStorageException} (its cause says why: not found,
     *     fenced, a corrupt snapshot ({@link CorruptDataException}), ...)
     */
    public static CompletableFuture<KafkaPartitionLog> open(StreamStore store, long streamId, long metaStreamId, long epoch,
                                                            PartitionLogConfig config) {
        requireArgs(store, config);
        String what = "streamId=" + streamId + " metaStreamId=" + metaStreamId + " epoch=" + epoch;
        return openStream(store, streamId, epoch, what).thenCompose(data -> openStream(store, metaStreamId, epoch, what)
                .whenComplete((m, e) -> {
                    if (e != null) {
                        data.close();
                    }
                })
                .thenCompose(m -> recover(store, epoch, data, m, config, what)));
    }

    /**
     * Opens a partition log from its data stream alone, without snapshots: the producer state and
     * leader-epoch cache are rebuilt by reading the <b>whole</b> retained data stream, and none are
     * written. For a partition whose meta stream id is not known (for example one created by slice 1
     * of this module); prefer {@link #open(StreamStore, long, long, long, PartitionLogConfig)}.
     *
     * @return the open log; fails with {@link LogStorageException} (its cause says why: not found, fenced, ...)
     */
    public static CompletableFuture<KafkaPartitionLog> open(StreamStore store, long streamId, long epoch,
                                                            PartitionLogConfig config) {
        requireArgs(store, config);
        String what = "streamId=" + streamId + " epoch=" + epoch;
        return openStream(store, streamId, epoch, what).thenCompose(data -> recover(store, epoch, data, null, config, what));
    }

    private static CompletableFuture<Stream> openStream(StreamStore store, long id, long epoch, String what) {
        return store.openStream(id, epoch).handle((s, error) -> {
            if (error != null) {
                throw new LogStorageException("cannot open the partition's stream " + id + ": " + what, unwrap(error));
            }
            return s;
        });
    }

    /**
     * Newest snapshot, then the data after it (and the time index's unwritten tail, from the same
     * replay). Closes the streams if that fails.
     */
    private static CompletableFuture<KafkaPartitionLog> recover(StreamStore store, long epoch, Stream data, Stream meta,
                                                                PartitionLogConfig config, String what) {
        ProducerStateTable producers = new ProducerStateTable();
        LeaderEpochCache epochs = new LeaderEpochCache();
        AbortedTxnIndex aborted = new AbortedTxnIndex();
        long end = data.nextOffset();
        Stream[] index = new Stream[1];
        TimeIndex[] timeIndex = new TimeIndex[1];
        CompletableFuture<MetaSnapshot> latest = meta == null ? CompletableFuture.completedFuture(null) : latestSnapshot(meta);
        return latest.thenCompose(snapshot -> {
            if (snapshot == null || snapshot.timeIndexStreamId() < 0) {
                timeIndex[0] = TimeIndex.inMemory(data, config.indexIntervalBytes());
                return CompletableFuture.completedFuture(snapshot);
            }
            return openStream(store, snapshot.timeIndexStreamId(), epoch, what).thenCompose(i -> {
                index[0] = i;
                return TimeIndex.open(data, i, config.indexIntervalBytes(), config.metaChunkBytes());
            }).thenApply(t -> {
                timeIndex[0] = t;
                return snapshot;
            });
        }).thenCompose(snapshot -> {
            long from = data.startOffset();
            if (snapshot != null) {
                if (snapshot.dataOffset() > end) {
                    throw new CorruptDataException("snapshot is beyond the data: snapshot dataOffset=" + snapshot.dataOffset()
                            + " data nextOffset=" + end + " metaStreamId=" + meta.id());
                }
                long now = config.clock().millis();
                // as Kafka's loadFromSnapshot: expired producers are not loaded
                snapshot.producers().stream()
                        .filter(p -> !ProducerStateTable.isExpired(p, now, config.producerIdExpirationMs()))
                        .forEach(producers::load);
                epochs.load(snapshot.epochs());
                aborted.load(snapshot.aborted());
                from = Math.max(from, snapshot.dataOffset());
            }
            long replayFrom = from;
            long readFrom = Math.max(data.startOffset(), Math.min(from, timeIndex[0].replayFrom()));
            return forEachBatch(data, readFrom, end, b -> {
                timeIndex[0].add(b.baseOffset(), b.nextOffset(), GapFiller.isFiller(b) ? 0 : b.sizeBytes(), b.baseTimestamp());
                replay(b, replayFrom, producers, epochs, aborted);
            })
                    .thenApply(v -> {
                        // Kafka's cache was truncated from the start at each deleteRecords, and its
                        // LogLoader then drops epochs starting at or after the end: the same, in that
                        // order (it matters when the log is empty: an epoch at start == end goes)
                        epochs.truncateFromStart(data.startOffset());
                        epochs.truncateFromEnd(end);
                        aborted.truncateFromStart(data.startOffset());
                        return new KafkaPartitionLog(data, meta, index[0], timeIndex[0], config, producers, epochs, aborted,
                                snapshot == null ? -1 : snapshot.dataOffset());
                    });
        }).handle((log, error) -> {
            if (error != null) {
                data.close();
                if (meta != null) {
                    meta.close();
                }
                if (index[0] != null) {
                    index[0].close();
                }
                throw new LogStorageException("cannot recover the partition's state: " + what, unwrap(error));
            }
            return log;
        });
    }

    /** Applies one stored data batch to the state (no checks, as Kafka's loading from segments). */
    private static void replay(FetchedBatch stored, long from, ProducerStateTable producers, LeaderEpochCache epochs,
                               AbortedTxnIndex aborted) {
        for (org.apache.kafka.common.record.internal.RecordBatch batch : MemoryRecords.readableRecords(stored.payload()).batches()) {
            if (batch.lastOffset() < from) {
                continue;
            }
            if (batch.partitionLeaderEpoch() >= 0) {
                epochs.assign(batch.partitionLeaderEpoch(), batch.baseOffset());
            }
            if (batch.hasProducerId()) {
                indexIfAborted(producers.addStored(batch), aborted);
            }
        }
    }

    private static void indexIfAborted(ProducerStateTable.CompletedTxn completed, AbortedTxnIndex aborted) {
        if (completed != null && completed.aborted()) {
            aborted.append(new AbortedTxnIndex.Entry(completed.producerId(), completed.firstOffset(),
                    completed.lastOffset(), completed.lastStableOffset()));
        }
    }

    /** The newest snapshot in {@code meta} (its last chunk ends the stream), or null if it holds none. */
    private static CompletableFuture<MetaSnapshot> latestSnapshot(Stream meta) {
        return latestSnapshot(meta, meta.nextOffset());
    }

    /** The newest whole snapshot that ends at or before {@code end}. */
    private static CompletableFuture<MetaSnapshot> latestSnapshot(Stream meta, long end) {
        if (end == meta.startOffset()) {
            return CompletableFuture.completedFuture(null);
        }
        List<MetaSnapshot.Chunk> last = new ArrayList<>(1);
        return forEachBatch(meta, end - 1, end, b -> last.add(MetaSnapshot.parseChunk(copy(b.payload()), b.baseOffset())))
                .thenCompose(v -> {
                    MetaSnapshot.Chunk tail = last.get(last.size() - 1);
                    long first = end - tail.count();
                    long partialStart = end - 1 - tail.index();
                    if (tail.index() < tail.count() - 1 && partialStart >= meta.startOffset()) {
                        // a crash while the newest snapshot's chunks were written: only its first
                        // chunks are durable. The previous snapshot, before it, is whole (the meta
                        // stream is trimmed only after all chunks of a snapshot are durable).
                        return latestSnapshot(meta, partialStart);
                    }
                    if (tail.index() != tail.count() - 1 || first < meta.startOffset()) {
                        throw new CorruptDataException("the meta stream does not end with a whole snapshot: metaStreamId="
                                + meta.id() + " [" + meta.startOffset() + ", " + end + ") last chunk " + tail.index()
                                + " of " + tail.count());
                    }
                    List<MetaSnapshot.Chunk> chunks = new ArrayList<>(tail.count());
                    return forEachBatch(meta, first, end - 1,
                            b -> chunks.add(MetaSnapshot.parseChunk(copy(b.payload()), b.baseOffset())))
                            .thenApply(w -> {
                                chunks.add(tail);
                                return MetaSnapshot.decode(chunks);
                            });
                });
    }

    private static ByteBuffer copy(ByteBuffer b) {
        ByteBuffer out = ByteBuffer.allocate(b.remaining());
        return out.put(b.duplicate()).flip();
    }

    /** Hands every batch of {@code [from, to)} to {@code each}, fetching as often as needed. */
    private static CompletableFuture<Void> forEachBatch(Stream s, long from, long to, Consumer<FetchedBatch> each) {
        if (from >= to) {
            return CompletableFuture.completedFuture(null);
        }
        return s.fetch(from, to, RECOVERY_FETCH_BYTES).thenCompose(fetched -> {
            long next;
            try (fetched) {
                if (fetched.isEmpty()) {
                    throw new CorruptDataException("stream " + s.id() + " returned nothing at " + from + " before " + to);
                }
                fetched.batches().forEach(each);
                next = fetched.nextOffset(from);
            }
            return forEachBatch(s, next, to, each);
        });
    }

    private static void requireArgs(StreamStore store, PartitionLogConfig config) {
        if (store == null || config == null) {
            throw new IllegalArgumentException("store and config must not be null");
        }
    }

    /** The id of the data stream that holds this partition's batches. */
    public long streamId() {
        return stream.id();
    }

    /**
     * The id of the meta stream that holds this partition's state snapshots, or {@code -1} if this
     * log was opened without one ({@link #open(StreamStore, long, long, PartitionLogConfig)}).
     */
    public long metaStreamId() {
        return meta == null ? -1 : meta.id();
    }

    /**
     * The id of the stream that holds this partition's time index, or {@code -1} if its entries are
     * kept in memory only (a log opened without a meta stream). Its id is recorded in the meta
     * stream's snapshots; the broker need not keep it.
     */
    public long timeIndexStreamId() {
        return index == null ? -1 : index.id();
    }

    /** The first offset a consumer may read. */
    public long logStartOffset() {
        return stream.startOffset();
    }

    /** The offset the next acknowledged batch will start at. */
    public long logEndOffset() {
        return stream.nextOffset();
    }

    /** Equals {@link #logEndOffset()}: everything acknowledged is durable. */
    public long highWatermark() {
        return stream.nextOffset();
    }

    /**
     * Appends one batch from a plain, idempotent or transactional producer as the partition leader: validates it
     * (see {@link BatchValidator}), records {@code leaderEpoch}'s start offset if it is new, checks
     * an idempotent batch against its producer's state, assigns its offsets from the log end offset,
     * applies the configured timestamp type, stamps {@code leaderEpoch}, and stores it durably.
     *
     * <p>Idempotent batches follow Kafka 4.3's {@code ProducerAppendInfo}: a batch with the same
     * producer epoch and first/last sequence as one of the producer's last five is a duplicate: it is
     * not stored again and the answer carries the original's offsets, its timestamp as log append
     * time (as Kafka answers duplicates, also with CreateTime) and the current log start offset. An
     * older producer epoch fails with {@link InvalidProducerEpochException}; a sequence that is not the
     * last one + 1, or a new epoch not starting at 0, with {@link OutOfOrderSequenceException}. A
     * producer id the log has no state for may start at any sequence. A transactional batch begins
     * its producer's transaction if none is ongoing (no check with the coordinator: Kafka's
     * {@code transaction.partition.verification.enable} is the broker's job); a batch that is not
     * transactional from a producer with an ongoing transaction fails with
     * {@link InvalidTxnStateException} (checked after the sequence).
     *
     * <p>Modifies {@code records}' buffer in place, as Kafka's broker does; the bytes must not change
     * until the future completes.
     *
     * @param records the partition's data of a Produce request: exactly one v2 batch
     * @param leaderEpoch the partition leader epoch stamped on the batch
     * @return the offsets and times of the durable batch; fails with {@link CorruptBatchException},
     *     {@link InvalidBatchException}, {@link InvalidBatchTimestampException},
     *     {@link BatchTooLargeException}, {@link OutOfOrderSequenceException},
     *     {@link InvalidProducerEpochException}, {@link InvalidTxnStateException} or {@link LogStorageException}
     * @throws IllegalArgumentException if {@code records} is null or {@code leaderEpoch} is negative
     *     (Kafka's leader-epoch cache refuses it too)
     */
    public CompletableFuture<AppendInfo> appendAsLeader(MemoryRecords records, int leaderEpoch) {
        if (records == null || leaderEpoch < 0) {
            throw new IllegalArgumentException("records must not be null and leaderEpoch >= 0, got leaderEpoch=" + leaderEpoch);
        }
        long now = config.clock().millis();
        BatchValidator.Validated validated;
        try {
            validated = BatchValidator.validate(records, config, now);
        } catch (KafkaLogException e) {
            return CompletableFuture.failedFuture(e);
        }
        long logStartOffset = stream.startOffset();
        long baseOffset;
        long logAppendTime;
        CompletableFuture<Void> stored;
        org.apache.kafka.common.record.internal.MutableRecordBatch batch = validated.batch();
        synchronized (lock) {
            if (appendFailure != null) {
                return CompletableFuture.failedFuture(new LogStorageException(
                        "an earlier append failed; re-open the log: streamId=" + stream.id(), appendFailure));
            }
            baseOffset = assignedEnd;
            // Kafka assigns the epoch before the producer checks, also for a batch they then refuse
            boolean newEpoch = epochs.assign(leaderEpoch, baseOffset);
            if (batch.hasProducerId()) {
                ProducerStateTable.BatchMeta duplicate;
                try {
                    duplicate = producers.check(batch, baseOffset);
                } catch (KafkaLogException e) {
                    return epochKeptLocked(newEpoch, CompletableFuture.failedFuture(e));
                }
                if (duplicate != null) {
                    AppendInfo original = new AppendInfo(duplicate.firstOffset(), duplicate.lastOffset(),
                            duplicate.timestamp(), logStartOffset);
                    return epochKeptLocked(newEpoch, lastAppend).handle((r, error) -> {
                        if (error != null) {
                            throw new LogStorageException("the original of a duplicate batch was not stored: streamId="
                                    + stream.id() + " offsets=" + duplicate.firstOffset() + ".." + duplicate.lastOffset(),
                                    unwrap(error));
                        }
                        return original;
                    });
                }
            }
            logAppendTime = BatchValidator.stamp(validated, baseOffset, leaderEpoch, config, now);
            stored = storeLocked(validated, baseOffset, () -> {
                if (batch.hasProducerId()) {
                    producers.add(batch.producerId(), batch.producerEpoch(), new ProducerStateTable.BatchMeta(
                            batch.baseSequence(), batch.lastSequence(), baseOffset, assignedEnd - 1, batch.maxTimestamp()),
                            batch.isTransactional());
                }
            });
        }
        long lastOffset = baseOffset + validated.count() - 1;
        return stored.thenApply(v -> new AppendInfo(baseOffset, lastOffset, logAppendTime, logStartOffset));
    }

    /**
     * Writes an end-transaction marker for {@code producerId} as Kafka's transaction coordinator
     * does (WriteTxnMarkers: {@code UnifiedLog.appendAsLeader} with origin {@code COORDINATOR} and a
     * control batch built by {@link MemoryRecords#withEndTransactionMarker}, timestamped now): it
     * ends the producer's ongoing transaction, if any, which then no longer holds back the last
     * stable offset; an ABORT of a non-empty transaction adds it to the aborted transactions that
     * {@link Isolation#TXN_COMMITTED} reads return. A marker for a producer without an ongoing
     * transaction (or unknown to this log) is written too and changes only the producer's epochs
     * and timestamp, as in Kafka. Checks, in Kafka 4.3.1's order, after recording
     * {@code leaderEpoch}'s start offset: the producer epoch (with {@code transactionVersion} 0 or 1
     * it must be at least the producer's; with 2 or more greater, because the coordinator bumps it,
     * except a retry at the producer's epoch once its transaction has ended), then the coordinator
     * epoch (not older than the producer's last marker's).
     *
     * @param transactionVersion the transaction version of the WriteTxnMarkers request (0, 1 or 2)
     * @param leaderEpoch the partition leader epoch stamped on the marker
     * @return the marker's offset once it is durable; fails with
     *     {@link InvalidProducerEpochException}, {@link TransactionCoordinatorFencedException} or
     *     {@link LogStorageException}
     * @throws IllegalArgumentException if {@code producerId}, {@code producerEpoch},
     *     {@code transactionVersion} or {@code leaderEpoch} is negative (Kafka refuses an unknown
     *     transaction version for coordinator appends)
     */
    public CompletableFuture<Long> appendTxnMarker(long producerId, short producerEpoch, int coordinatorEpoch, boolean commit,
                                                   short transactionVersion, int leaderEpoch) {
        if (producerId < 0 || producerEpoch < 0 || transactionVersion < 0 || leaderEpoch < 0) {
            throw new IllegalArgumentException("invalid transaction marker: producerId=" + producerId + " producerEpoch="
                    + producerEpoch + " transactionVersion=" + transactionVersion + " leaderEpoch=" + leaderEpoch);
        }
        long now = config.clock().millis();
        MemoryRecords marker = TxnMarkers.build(now, producerId, producerEpoch, coordinatorEpoch, commit);
        BatchValidator.Validated validated = new BatchValidator.Validated(marker.batches().iterator().next(),
                marker.buffer(), 1, now);
        long baseOffset;
        CompletableFuture<Void> stored;
        synchronized (lock) {
            if (appendFailure != null) {
                return CompletableFuture.failedFuture(new LogStorageException(
                        "an earlier append failed; re-open the log: streamId=" + stream.id(), appendFailure));
            }
            baseOffset = assignedEnd;
            boolean newEpoch = epochs.assign(leaderEpoch, baseOffset);
            producers.onHighWatermark(stream.nextOffset()); // bounds the completed transactions kept
            try {
                producers.checkMarker(producerId, producerEpoch, coordinatorEpoch, transactionVersion, baseOffset);
            } catch (KafkaLogException e) {
                return epochKeptLocked(newEpoch, CompletableFuture.failedFuture(e));
            }
            BatchValidator.stamp(validated, baseOffset, leaderEpoch, config, now);
            stored = storeLocked(validated, baseOffset, () -> indexIfAborted(
                    producers.addMarker(producerId, producerEpoch, coordinatorEpoch, commit, baseOffset, now), aborted));
        }
        return stored.thenApply(v -> baseOffset);
    }

    /**
     * Hands a validated, stamped batch to the stream at {@code baseOffset}; if the stream takes it,
     * runs {@code recordState} (the producer-state change the batch makes) and takes a periodic
     * snapshot when due. Caller holds {@code lock}.
     *
     * @return completes when the batch is durable; fails with {@link LogStorageException} (which
     *     fails the log for later appends), or at once with {@link BatchTooLargeException} /
     *     {@link LogStorageException} if the stream refused the batch without taking an offset
     */
    private CompletableFuture<Void> storeLocked(BatchValidator.Validated validated, long baseOffset, Runnable recordState) {
        if (baseOffset != assignedEnd) {
            throw new IllegalStateException("batch stamped at " + baseOffset + " but the log end is " + assignedEnd);
        }
        RecordBatch toStore = RecordBatch.of(validated.count(), validated.batch().maxTimestamp(), validated.bytes());
        Handed handed = handToStreamLocked(toStore, toStore.sizeBytes());
        if (handed.refused() != null) {
            return CompletableFuture.failedFuture(handed.refused());
        }
        recordState.run();
        if (bytesSinceSnapshot >= config.snapshotIntervalBytes()) {
            snapshotLocked();
        }
        return handed.durable();
    }

    /**
     * A batch handed to the stream: {@code refused} if the stream refused it at once with no offset
     * taken (then {@code durable} is null), else {@code durable}, which completes when it is durable
     * at the offset the log gave it and fails with {@link LogStorageException} otherwise.
     */
    private record Handed(KafkaLogException refused, CompletableFuture<Void> durable) {
    }

    /**
     * Appends {@code b} to the stream at {@code assignedEnd} (caller holds {@code lock}) and, if the
     * stream takes it, advances {@code assignedEnd} and indexes it with {@code indexedBytes}. A
     * refusal at once (the store's batch limit, or backpressure after the store's bounded wait) takes
     * no offset: the stream and this log stay usable, and the next append gets this offset. A later
     * failure, or a stream offset other than the log's, fails the log for later appends.
     */
    private Handed handToStreamLocked(RecordBatch b, int indexedBytes) {
        long baseOffset = assignedEnd;
        CompletableFuture<AppendResult> appended = stream.append(b);
        Throwable refused = appended.isCompletedExceptionally() ? appended.handle((r, e) -> unwrap(e)).join() : null;
        if (refused instanceof RecordTooLargeException tooLarge) {
            return new Handed(new BatchTooLargeException("batch exceeds the store's batch limit: baseOffset=" + baseOffset,
                    tooLarge.sizeBytes(), tooLarge.maxBytes(), tooLarge), null);
        }
        if (refused instanceof BackpressureException) {
            return new Handed(new LogStorageException("append refused by backpressure: streamId=" + stream.id()
                    + " baseOffset=" + baseOffset, refused), null);
        }
        assignedEnd = baseOffset + b.count();
        timeIndex.add(baseOffset, assignedEnd, indexedBytes, b.baseTimestamp());
        lastAppend = appended;
        bytesSinceSnapshot += b.sizeBytes();
        return new Handed(null, appended.handle((result, error) -> {
            if (error == null && result.baseOffset() != baseOffset) {
                error = new IllegalStateException("stream assigned another offset than the log gave the batch: streamId="
                        + stream.id() + " log=" + baseOffset + " stream=" + result.baseOffset());
            }
            if (error != null) {
                Throwable cause = unwrap(error);
                synchronized (lock) {
                    if (appendFailure == null) {
                        appendFailure = cause;
                    }
                }
                throw new LogStorageException("append failed: streamId=" + stream.id() + " baseOffset=" + baseOffset, cause);
            }
            return null;
        }));
    }

    /**
     * Appends batches whose offsets are already assigned, as a Kafka follower does
     * ({@code UnifiedLog.appendAsFollower}): for mirroring, and for migrating a partition from Kafka
     * with its offsets. Each batch is stored byte for byte with its offsets, timestamps, partition
     * leader epoch and producer fields as they are; the checks are those of Kafka's follower path
     * ({@link OffsetBatchValidator}: size fields, magic 2, CRC, increasing offsets), no offset is
     * assigned and no timestamp, sequence or size limit is checked. Several batches per call are
     * allowed (a fetch response's data); a partial batch at the end is dropped, as Kafka does.
     *
     * <p><b>Offsets.</b> The first batch must start at or above the log end offset: at it, the batches
     * follow contiguously; above it, the offsets between are a gap, as in a compacted Kafka log or
     * one whose start was trimmed. Each batch must start after the one before it, gaps allowed.
     * Strata streams cannot skip offsets, so a gap is stored as filler batches that reads leave out
     * ({@link GapFiller}); the log start offset does not move (as on a Kafka follower; call
     * {@link #deleteRecords} to move it). A first batch below the log end offset (an overlap, or a
     * gap backwards) fails with {@link UnexpectedAppendOffsetException} and stores nothing.
     *
     * <p><b>State.</b> As Kafka's follower path ({@code ProducerAppendInfo} with origin
     * {@code REPLICATION}): each batch's partition leader epoch is recorded in the leader-epoch cache
     * at its base offset, and each batch with a producer id is added to its producer's state without
     * sequence or epoch checks, and without duplicate detection (a batch sent twice is stored twice).
     * Later {@link #appendAsLeader} retries of these batches are then answered as duplicates.
     * Transactional batches begin their producer's transaction, COMMIT/ABORT control batches end it
     * (an ABORT joins the aborted transactions of read_committed reads), so the last stable offset
     * follows as on the leader; a batch that is not transactional from a producer with an ongoing
     * transaction fails the call with {@link InvalidTxnStateException} (as Kafka's follower, after
     * recording the batches' leader epochs).
     *
     * <p><b>Atomicity.</b> A call that fails its checks stores nothing. Otherwise the batches (and
     * fillers) are handed to the stream in order; should the stream refuse one at once (larger than
     * the store's batch limit, or backpressure), those before it stay appended and the future fails:
     * {@link #logEndOffset()} then says where to resume. Thread-safe like every method; a mirror
     * should be the partition's only writer, or its offsets will not fit after other appends.
     *
     * @param records whole v2 batches with their offsets assigned, in increasing offset order
     * @return the first batch's base offset and the last batch's last offset, log append time -1 and
     *     the log start offset, once every batch is durable; {@code -1, -1} if {@code records} holds no
     *     whole batch (nothing is stored). Fails with {@link UnexpectedAppendOffsetException},
     *     {@link CorruptBatchException}, {@link InvalidBatchException}, {@link InvalidTxnStateException},
     *     {@link BatchTooLargeException} or {@link LogStorageException}
     * @throws IllegalArgumentException if {@code records} is null
     */
    public CompletableFuture<AppendInfo> appendWithOffsets(MemoryRecords records) {
        if (records == null) {
            throw new IllegalArgumentException("records must not be null");
        }
        List<OffsetBatchValidator.Checked> batches;
        try {
            batches = OffsetBatchValidator.validate(records);
        } catch (KafkaLogException e) {
            return CompletableFuture.failedFuture(e);
        }
        long logStartOffset = stream.startOffset();
        if (batches.isEmpty()) {
            return CompletableFuture.completedFuture(new AppendInfo(-1, -1, -1, logStartOffset));
        }
        long firstOffset = batches.get(0).batch().baseOffset();
        long lastOffset = batches.get(batches.size() - 1).batch().lastOffset();
        List<CompletableFuture<Void>> stored = new ArrayList<>();
        KafkaLogException refused = null;
        synchronized (lock) {
            if (appendFailure != null) {
                return CompletableFuture.failedFuture(new LogStorageException(
                        "an earlier append failed; re-open the log: streamId=" + stream.id(), appendFailure));
            }
            if (firstOffset < assignedEnd) {
                return CompletableFuture.failedFuture(new UnexpectedAppendOffsetException(
                        "the first batch starts below the log end offset", firstOffset,
                        batches.get(0).batch().lastOffset(), assignedEnd));
            }
            try {
                producers.checkReplicated(batches.stream().map(OffsetBatchValidator.Checked::batch).toList());
            } catch (KafkaLogException e) {
                // Kafka's follower has assigned the batches' epochs by the time its producer check throws
                boolean newEpoch = false;
                for (OffsetBatchValidator.Checked c : batches) {
                    newEpoch |= epochs.assign(c.batch().partitionLeaderEpoch(), c.batch().baseOffset());
                }
                return epochKeptLocked(newEpoch, CompletableFuture.failedFuture(e));
            }
            appending:
            for (OffsetBatchValidator.Checked c : batches) {
                org.apache.kafka.common.record.internal.MutableRecordBatch batch = c.batch();
                while (assignedEnd < batch.baseOffset()) {
                    long last = Math.min(batch.baseOffset() - 1, assignedEnd + GapFiller.MAX_SPAN - 1);
                    ByteBuffer filler = GapFiller.filler(assignedEnd, last);
                    refused = storeLocked(RecordBatch.of((int) (last - assignedEnd + 1),
                            org.apache.kafka.common.record.internal.RecordBatch.NO_TIMESTAMP, filler), true, stored);
                    if (refused != null) {
                        break appending;
                    }
                }
                refused = storeLocked(RecordBatch.of(c.offsetSpan(), batch.maxTimestamp(), c.bytes()), false, stored);
                if (refused != null) {
                    break;
                }
                epochs.assign(batch.partitionLeaderEpoch(), batch.baseOffset());
                if (batch.hasProducerId()) {
                    indexIfAborted(producers.addStored(batch), aborted); // data, or a COMMIT/ABORT marker
                }
            }
            if (bytesSinceSnapshot >= config.snapshotIntervalBytes()) {
                snapshotLocked();
            }
        }
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        return CompletableFuture.allOf(stored.toArray(CompletableFuture[]::new))
                .thenApply(v -> new AppendInfo(firstOffset, lastOffset, -1, logStartOffset));
    }

    /**
     * Hands one stream batch, to be stored at {@code assignedEnd}, to the stream (the caller holds
     * {@code lock}) and adds the future of its durable, checked append to {@code stored}. A gap
     * {@code filler} counts no bytes in the time index (retention by size counts Kafka data only).
     *
     * @return the stream's refusal if it refused the batch at once (nothing taken), else null
     */
    private KafkaLogException storeLocked(RecordBatch b, boolean filler, List<CompletableFuture<Void>> stored) {
        Handed handed = handToStreamLocked(b, filler ? 0 : b.sizeBytes());
        if (handed.refused() == null) {
            stored.add(handed.durable());
        }
        return handed.refused();
    }

    /**
     * {@code result}, after a snapshot has recorded the leader-epoch cache if {@code newEpoch}: an
     * append refused (or answered as a duplicate) after it assigned a new epoch stores no batch that
     * carries the epoch, so only a snapshot keeps the entry across a crash (Kafka flushes its
     * leader-epoch checkpoint at each assignment). Caller holds {@code lock}.
     */
    private <T> CompletableFuture<T> epochKeptLocked(boolean newEpoch, CompletableFuture<T> result) {
        return newEpoch ? snapshotLocked().thenCompose(v -> result) : result;
    }

    /**
     * Schedules a snapshot of the current state, valid up to {@code assignedEnd}: it is written to
     * the meta stream after the previous snapshot and once every append before it is durable (not
     * at all if one of them fails), and the meta stream is then trimmed to it.
     *
     * @return completes (never exceptionally) when the snapshot is written or given up
     */
    private CompletableFuture<Void> snapshotLocked() {
        bytesSinceSnapshot = 0;
        if (meta == null) {
            return CompletableFuture.completedFuture(null);
        }
        timeIndex.closeInterval(); // the snapshot's offset ends an index interval: recovery replays from it
        MetaSnapshot snapshot = new MetaSnapshot(assignedEnd, epochs.entries(), producers.entries(), aborted.entries(),
                index == null ? -1 : index.id());
        snapshotOffset = assignedEnd;
        CompletableFuture<?> covered = lastAppend;
        snapshotWrites = snapshotWrites
                .thenCompose(v -> covered.handle((r, error) -> error == null))
                .thenComposeAsync(durable -> durable
                        ? timeIndex.writeClosed().thenCompose(w -> writeSnapshot(snapshot))
                        : CompletableFuture.completedFuture(null))
                .handle((v, error) -> {
                    snapshotFailure = error == null ? null : unwrap(error);
                    return null;
                });
        return snapshotWrites;
    }

    private CompletableFuture<Void> writeSnapshot(MetaSnapshot snapshot) {
        List<CompletableFuture<AppendResult>> chunks = new ArrayList<>();
        for (ByteBuffer chunk : snapshot.toChunks(config.metaChunkBytes())) {
            chunks.add(meta.append(RecordBatch.of(1, chunk)));
        }
        return CompletableFuture.allOf(chunks.toArray(CompletableFuture[]::new))
                .thenCompose(v -> meta.trim(chunks.get(0).join().baseOffset()));
    }

    /**
     * OffsetForLeaderEpoch for this partition: the largest leader epoch at or below
     * {@code leaderEpoch} that wrote to this log and the offset where it ended (the next epoch's
     * start offset, or the log end offset for the latest epoch), with the rules of Kafka's
     * {@code LeaderEpochFileCache.endOffsetFor}; {@link EpochEndOffset#UNDEFINED_EPOCH} /
     * {@link EpochEndOffset#UNDEFINED_EPOCH_OFFSET} when undefined.
     */
    public EpochEndOffset endOffsetForEpoch(int leaderEpoch) {
        synchronized (lock) {
            return epochs.endOffsetFor(leaderEpoch, stream.nextOffset());
        }
    }

    /** The latest leader epoch that appended to this log, if any. */
    public OptionalInt latestEpoch() {
        synchronized (lock) {
            return epochs.latestEpoch();
        }
    }

    /** The leader-epoch cache: each epoch and its start offset, oldest first. */
    public List<LeaderEpochEntry> leaderEpochEntries() {
        synchronized (lock) {
            return epochs.entries();
        }
    }

    /**
     * Forgets idempotent producers whose last batch's timestamp is at least
     * {@link PartitionLogConfig#producerIdExpirationMs()} before now (Kafka's
     * {@code removeExpiredProducers}, which the broker runs every
     * {@code producer.id.expiration.check.interval.ms}, 10 minutes by default): a later batch of such
     * a producer may start at any sequence. The embedding broker schedules this call; the log also
     * drops expired producers when it loads a snapshot. The timestamp is the batch's max timestamp,
     * the producer's own with CreateTime (-1 if its records have none).
     *
     * @return how many producers were forgotten
     */
    public int removeExpiredProducers() {
        long now = config.clock().millis();
        synchronized (lock) {
            return producers.removeExpired(now, config.producerIdExpirationMs());
        }
    }

    /** Completes when every snapshot scheduled so far is written or given up (for tests). */
    CompletableFuture<Void> snapshotsWritten() {
        synchronized (lock) {
            return snapshotWrites;
        }
    }

    /** The state kept for one producer id, or null (for tests). */
    ProducerStateTable.Entry producerState(long producerId) {
        synchronized (lock) {
            return producers.entry(producerId);
        }
    }

    /**
     * Reads whole stored batches from {@code offset}: the batch containing {@code offset} (which
     * may begin below it) and the following ones while their total size stays within
     * {@code maxBytes}. With {@code minOneMessage} the first batch is returned even if larger than
     * {@code maxBytes}; without it such a read returns no records. A read at the log end offset
     * returns no records. Gap fillers are left out.
     *
     * <p>The caller owns the result and must {@linkplain ReadResult#close() close} it: its records are
     * views of Strata's (pooled) fetch buffers, without copying, held until then (see {@link ReadResult}).
     *
     * @param isolation {@link Isolation#HIGH_WATERMARK} reads to the high watermark;
     *     {@link Isolation#TXN_COMMITTED} to the last stable offset (an offset at or beyond it returns
     *     no records), and the result lists the aborted transactions that overlap the records
     *     returned (none when no records are returned)
     * @return the records and offsets; fails with {@link LogOffsetOutOfRangeException} if
     *     {@code offset} is below the log start offset or above the log end offset, or
     *     {@link LogStorageException} (a failed read holds no buffers)
     * @throws IllegalArgumentException if {@code maxBytes < 0} or {@code isolation} is null
     */
    public CompletableFuture<ReadResult> read(long offset, int maxBytes, Isolation isolation, boolean minOneMessage) {
        if (maxBytes < 0 || isolation == null) {
            throw new IllegalArgumentException("invalid read: maxBytes=" + maxBytes + " isolation=" + isolation);
        }
        long start = stream.startOffset();
        long end = stream.nextOffset();
        if (offset < start || offset > end) {
            return CompletableFuture.failedFuture(new LogOffsetOutOfRangeException("read out of range", offset, start, end));
        }
        long stable = lastStableOffset(end);
        long max = isolation == Isolation.TXN_COMMITTED ? stable : end;
        if (offset >= max || (maxBytes == 0 && !minOneMessage)) {
            return CompletableFuture.completedFuture(ReadResult.empty(end, stable, start, offset));
        }
        ReadAccumulator acc = new ReadAccumulator(maxBytes, minOneMessage, offset);
        return fetchInto(acc, max).handle((done, error) -> {
            if (error != null) {
                acc.release();
                throw error instanceof CompletionException ce ? ce : new CompletionException(error);
            }
            try {
                List<AbortedTransaction> abortedTxns = List.of();
                // records returned, not just an offset gap skipped (difference 14: no records, no list)
                if (isolation == Isolation.TXN_COMMITTED && !acc.taken.isEmpty()) {
                    synchronized (lock) {
                        abortedTxns = aborted.collect(offset, acc.next);
                    }
                }
                return acc.toResult(end, stable, stream.startOffset(), abortedTxns, offset);
            } catch (RuntimeException e) {
                acc.release();
                throw e;
            }
        });
    }

    /**
     * The last stable offset: the first offset of the oldest transaction not yet decided (ongoing,
     * or ended by a marker that is not durable yet), but not below the log start offset; the high
     * watermark if there is none below it. A {@code read_committed} consumer reads up to here.
     */
    public long lastStableOffset() {
        return lastStableOffset(stream.nextOffset());
    }

    private long lastStableOffset(long highWatermark) {
        synchronized (lock) {
            // Kafka's maybeIncrementFirstUnstableOffset keeps it at or above the log start offset
            return Math.max(Math.min(producers.firstUnstableOffset(highWatermark), highWatermark), stream.startOffset());
        }
    }

    /**
     * Fetches from {@code acc.next} until the byte limit is reached or the end: a stream fetch may
     * return fewer batches than {@code maxBytes} allows (for example where uploaded data meets the
     * log cache), and Kafka's read fills the limit.
     */
    private CompletableFuture<ReadAccumulator> fetchInto(ReadAccumulator acc, long end) {
        long from = acc.next;
        return stream.fetch(from, end, acc.remainingBytes()).handle((fetched, error) -> {
            if (error != null) {
                Throwable cause = unwrap(error);
                if (cause instanceof OffsetOutOfRangeException oor) {
                    // trimmed (deleteRecords) between our check and the fetch
                    throw new LogOffsetOutOfRangeException("read out of range", from, oor.startOffset(), oor.nextOffset());
                }
                throw new LogStorageException("read failed: streamId=" + stream.id() + " offset=" + from, cause);
            }
            return acc.take(fetched);
        }).thenCompose(more -> more && acc.next < end ? fetchInto(acc, end) : CompletableFuture.completedFuture(acc));
    }

    /**
     * Whole batches within the byte limit, as views of the fetch buffers, which it holds until
     * {@link #toResult} hands them to the {@link ReadResult}, or
     * {@link #release} (the read failed). The limit is Kafka's {@code LogSegment.read}:
     * {@code maxBytes}, raised to the first batch's size with {@code minOneMessage}. (Kafka returns
     * the byte range up to the limit, which may end in a partial batch that consumers skip; this log
     * returns only whole batches.) Used by one read at a time; not thread-safe.
     */
    private static final class ReadAccumulator {
        private final int maxBytes;
        private final boolean minOneMessage;
        private final List<ByteBuffer> taken = new ArrayList<>();
        private final List<FetchResult> held = new ArrayList<>();
        private long limit = -1;
        private long total;
        long next;

        ReadAccumulator(int maxBytes, boolean minOneMessage, long from) {
            this.maxBytes = maxBytes;
            this.minOneMessage = minOneMessage;
            this.next = from;
        }

        int remainingBytes() {
            return limit < 0 ? maxBytes : (int) Math.max(0, limit - total);
        }

        /**
         * Takes the batches that fit, leaving gap fillers out (each is a stream batch of its own, so
         * the batches around one stay views), and keeps {@code fetched} if any was taken (else
         * closes it); returns whether more may be fetched.
         */
        boolean take(FetchResult fetched) {
            boolean used = false;
            boolean more = !fetched.isEmpty();
            try {
                for (FetchedBatch b : fetched.batches()) {
                    if (GapFiller.isFiller(b)) {
                        next = b.nextOffset(); // a gap in Kafka offsets: Kafka's read returns the next batch
                        continue;
                    }
                    if (limit < 0) {
                        limit = minOneMessage ? Math.max(maxBytes, b.sizeBytes()) : maxBytes;
                    }
                    if (total + b.sizeBytes() > limit) {
                        more = false;
                        break;
                    }
                    taken.add(b.payload());
                    used = true;
                    total += b.sizeBytes();
                    next = b.nextOffset();
                }
            } finally {
                if (used) {
                    held.add(fetched);
                } else {
                    fetched.close();
                }
            }
            return more;
        }

        /**
         * The result: no records; one batch as a view of its fetch buffer; or several batches as views
         * of their fetch buffers ({@link GatheredRecords}). The result releases the fetch results it
         * holds on close.
         */
        ReadResult toResult(long highWatermark, long lastStableOffset, long logStartOffset,
                            List<AbortedTransaction> abortedTxns, long offset) {
            if (taken.isEmpty()) {
                release();
                return new ReadResult(MemoryRecords.EMPTY, highWatermark, lastStableOffset, logStartOffset, abortedTxns,
                        offset, null);
            }
            List<FetchResult> owned = List.copyOf(held);
            held.clear();
            try {
                org.apache.kafka.common.record.internal.BaseRecords records = taken.size() == 1
                        ? MemoryRecords.readableRecords(taken.get(0)) : new GatheredRecords(taken);
                return new ReadResult(records, highWatermark, lastStableOffset, logStartOffset, abortedTxns, offset,
                        () -> owned.forEach(FetchResult::close));
            } catch (RuntimeException | Error e) {
                owned.forEach(FetchResult::close);
                throw e;
            }
        }

        /** Closes the fetch results still held. */
        void release() {
            held.forEach(FetchResult::close);
            held.clear();
        }
    }

    /**
     * Advances the log start offset to {@code offset} (Kafka's DeleteRecords): data below it is no
     * longer readable; the batch containing it stays readable whole. An offset at or below the
     * current log start offset changes nothing. The leader-epoch cache is truncated as Kafka's
     * ({@code truncateFromStart}); the producer state is kept (as Kafka 4.3 keeps it). If the new
     * start is beyond the newest snapshot, a snapshot is written before the future completes, so that
     * a reopen never needs data below the log start offset (a failure to write it is reported by
     * {@link #close()}, not here).
     *
     * @param offset the new log start offset, or {@link DeleteRecordsRequest#HIGH_WATERMARK} (-1)
     *     for the high watermark
     * @return the log start offset afterwards (DeleteRecords' low watermark); fails with
     *     {@link LogOffsetOutOfRangeException} if {@code offset} is above the high watermark or
     *     negative (other than -1), or {@link LogStorageException}
     */
    public CompletableFuture<Long> deleteRecords(long offset) {
        long hw = stream.nextOffset();
        long target = offset == DeleteRecordsRequest.HIGH_WATERMARK ? hw : offset;
        if (target < 0 || target > hw) {
            return CompletableFuture.failedFuture(new LogOffsetOutOfRangeException(
                    "cannot move the log start offset beyond the high watermark", offset, stream.startOffset(), hw));
        }
        // async: the continuation takes the log's lock, which an append may hold while the store
        // applies backpressure; the store's callback thread must not wait for it
        return stream.trim(target).handleAsync((ignored, error) -> {
            if (error != null) {
                Throwable cause = unwrap(error);
                if (cause instanceof OffsetOutOfRangeException oor) {
                    throw new LogOffsetOutOfRangeException("cannot move the log start offset beyond the high watermark",
                            offset, oor.startOffset(), oor.nextOffset());
                }
                throw new LogStorageException("deleteRecords failed: streamId=" + stream.id() + " offset=" + offset, cause);
            }
            long start = stream.startOffset();
            CompletableFuture<Void> snapshot = CompletableFuture.completedFuture(null);
            TimeIndex.View view;
            synchronized (lock) {
                epochs.truncateFromStart(start);
                aborted.truncateFromStart(start);
                if (snapshotOffset < start && appendFailure == null && !closed) {
                    snapshot = snapshotLocked();
                }
                view = timeIndex.view();
            }
            // best-effort: entries below the start are only unused; the next trim retries
            CompletableFuture<Void> indexTrimmed = timeIndex.trimTo(view, start).exceptionally(e -> null);
            return snapshot.thenCombine(indexTrimmed, (a, b) -> start);
        }).thenCompose(f -> f);
    }

    /**
     * ListOffsets for one timestamp, answered as Kafka 4.3's {@code UnifiedLog.fetchOffsetByTimestamp}:
     * <ul>
     *   <li>{@link ListOffsetsRequest#EARLIEST_TIMESTAMP} (-2) and {@code EARLIEST_LOCAL_TIMESTAMP}
     *       (-4): the log start offset, timestamp -1, and the earliest cached epoch if it starts at
     *       or below it;</li>
     *   <li>{@link ListOffsetsRequest#LATEST_TIMESTAMP} (-1): the log end offset, timestamp -1, the
     *       latest epoch;</li>
     *   <li>{@link ListOffsetsRequest#MAX_TIMESTAMP} (-3): the first batch (in offset order) with
     *       the largest max timestamp among the retained batches, its first record with that
     *       timestamp, and the batch's leader epoch;</li>
     *   <li>a timestamp {@code >= 0}: the first record at or after the log start offset whose
     *       timestamp is at least {@code timestamp}, its timestamp and its batch's leader epoch.</li>
     * </ul>
     * Found through the time index: one binary search over its entries and the data of one index
     * interval (walking entries from the log start when trimmed data held larger timestamps). Sees
     * every batch appended before the call (it waits until they are durable).
     *
     * @return the answer, or empty if no record qualifies (ListOffsets then answers offset -1);
     *     fails with {@link LogStorageException} if the index or data cannot be read (for example
     *     trimmed by a concurrent deleteRecords or retention: retry)
     * @throws IllegalArgumentException for another negative timestamp
     */
    public CompletableFuture<Optional<TimestampAndOffset>> fetchOffsetByTimestamp(long timestamp) {
        TimeIndex.View view;
        CompletableFuture<?> appended;
        synchronized (lock) {
            if (timestamp == ListOffsetsRequest.EARLIEST_TIMESTAMP || timestamp == ListOffsetsRequest.EARLIEST_LOCAL_TIMESTAMP) {
                long start = stream.startOffset();
                List<LeaderEpochEntry> entries = epochs.entries();
                OptionalInt epoch = !entries.isEmpty() && entries.get(0).startOffset() <= start
                        ? OptionalInt.of(entries.get(0).epoch()) : OptionalInt.empty();
                return CompletableFuture.completedFuture(Optional.of(new TimestampAndOffset(-1, start, epoch)));
            }
            if (timestamp == ListOffsetsRequest.LATEST_TIMESTAMP) {
                return CompletableFuture.completedFuture(Optional.of(
                        new TimestampAndOffset(-1, stream.nextOffset(), epochs.latestEpoch())));
            }
            if (timestamp < 0 && timestamp != ListOffsetsRequest.MAX_TIMESTAMP) {
                throw new IllegalArgumentException("unsupported ListOffsets timestamp: " + timestamp
                        + " (supported: -4, -3, -2, -1 and timestamps >= 0)");
            }
            view = timeIndex.view();
            appended = lastAppend;
        }
        return appended.handle((r, e) -> null).thenCompose(v -> {
            long start = stream.startOffset();
            return timestamp == ListOffsetsRequest.MAX_TIMESTAMP ? timeIndex.maxTimestamp(view, start)
                    : timeIndex.firstAtOrAfter(view, timestamp, start);
        }).handle((found, error) -> {
            if (error != null) {
                throw new LogStorageException("offset lookup failed: streamId=" + stream.id() + " timestamp=" + timestamp,
                        unwrap(error));
            }
            return found.map(f -> new TimestampAndOffset(f.timestamp(), f.offset(), f.leaderEpoch()));
        });
    }

    /**
     * The offset of {@link #fetchOffsetByTimestamp}'s answer, or -1 if there is none.
     *
     * @throws IllegalArgumentException for an unsupported negative timestamp
     */
    public CompletableFuture<Long> offsetForTimestamp(long timestamp) {
        return fetchOffsetByTimestamp(timestamp).thenApply(found -> found.map(TimestampAndOffset::offset).orElse(-1L));
    }

    /**
     * Applies {@link PartitionLogConfig#retentionBytes()} and {@link PartitionLogConfig#retentionMs()}
     * (Kafka's {@code deleteOldSegments} for the delete cleanup policy): removes the oldest batches
     * while the batches after them still hold at least {@code retentionBytes}, then the oldest
     * batches while their max timestamp is more than {@code retentionMs} before the log's clock
     * (a batch without timestamps, max timestamp -1, counts as old). It removes whole batches (Kafka
     * whole segments) and, as Kafka without tiered storage, may remove every batch below the high
     * watermark. Then moves the log start offset as {@link #deleteRecords} does (leader-epoch cache,
     * snapshot). The embedding broker schedules the call (Kafka: every
     * {@code log.retention.check.interval.ms}). Sees every batch appended before the call.
     *
     * @return the log start offset afterwards; fails with {@link LogStorageException}
     */
    public CompletableFuture<Long> applyRetention() {
        long now = config.clock().millis();
        TimeIndex.View view;
        CompletableFuture<?> appended;
        synchronized (lock) {
            view = timeIndex.view();
            appended = lastAppend;
        }
        return appended.handle((r, e) -> null)
                .thenCompose(v -> Retention.newLogStartOffset(timeIndex, view, config, now, stream.startOffset()))
                .handle((target, error) -> {
                    if (error != null) {
                        throw new LogStorageException("retention failed: streamId=" + stream.id(), unwrap(error));
                    }
                    return target;
                })
                .thenCompose(this::backOverGapFillers)
                .thenCompose(target -> target > stream.startOffset() ? deleteRecords(target)
                        : CompletableFuture.completedFuture(stream.startOffset()));
    }

    /**
     * A new log start offset at a batch that follows gap fillers moves back to the fillers' base: Kafka
     * keeps an offset gap in the segment of the batch after it, so it goes (or stays) with that batch.
     */
    private CompletableFuture<Long> backOverGapFillers(long target) {
        if (target <= stream.startOffset()) {
            return CompletableFuture.completedFuture(target);
        }
        long[] fillerBase = {-1};
        return forEachBatch(stream, target - 1, target, b -> {
            if (fillerBase[0] < 0 && b.nextOffset() == target && GapFiller.isFiller(b)) {
                fillerBase[0] = b.baseOffset();
            }
        }).thenCompose(v -> fillerBase[0] < 0 ? CompletableFuture.completedFuture(target)
                : backOverGapFillers(Math.max(fillerBase[0], stream.startOffset())))
                .exceptionally(e -> target); // the batch before was trimmed meanwhile: keep the rules' answer
    }

    /**
     * Writes a last snapshot (unless an append failed), waits for snapshot writes, and closes both
     * stream handles. Acknowledged batches stay durable; appends in flight either complete or fail.
     * Idempotent.
     *
     * @throws LogStorageException if a stream failed to close, or the last snapshot write failed
     *     (the data is intact; the next open replays more of it)
     */
    @Override
    public void close() {
        CompletableFuture<Void> snapshots;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            snapshots = meta != null && appendFailure == null ? snapshotLocked() : snapshotWrites;
        }
        snapshots.join();
        try {
            CompletableFuture.allOf(stream.close(), meta == null ? CompletableFuture.completedFuture(null) : meta.close(),
                    index == null ? CompletableFuture.completedFuture(null) : index.close()).join();
        } catch (CompletionException e) {
            throw new LogStorageException("close failed: streamId=" + stream.id() + " metaStreamId=" + metaStreamId(), unwrap(e));
        }
        Throwable failed = snapshotFailure;
        if (failed != null) {
            throw new LogStorageException("the last snapshot was not written: streamId=" + stream.id() + " metaStreamId="
                    + metaStreamId(), failed);
        }
    }

    private static Throwable unwrap(Throwable t) {
        return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    }
}
