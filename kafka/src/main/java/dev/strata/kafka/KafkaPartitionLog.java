package dev.strata.kafka;

import dev.strata.api.AppendResult;
import dev.strata.api.BackpressureException;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.requests.DeleteRecordsRequest;
import org.apache.kafka.common.requests.ListOffsetsRequest;

/**
 * One Kafka topic-partition stored in one Strata {@link Stream}, with Kafka's leader-side
 * semantics: produced v2 batches are validated with Kafka's own classes, get their offsets,
 * timestamp and partition leader epoch stamped in place, and are stored byte for byte, one Kafka
 * batch per stream batch, so that <b>stream offset == Kafka offset</b>. Reads return whole stored
 * batches as Kafka {@link MemoryRecords}.
 *
 * <h2>Offsets</h2>
 * The log end offset is the stream's {@link Stream#nextOffset()}: an append is acknowledged only
 * once durable, so the high watermark equals the log end offset (a single durable copy plays the
 * role of the in-sync replicas). The log start offset is the stream's {@link Stream#startOffset()}:
 * {@link #deleteRecords} trims the stream at exactly the requested offset, and a Strata stream keeps
 * that offset exactly, returns the batch containing it whole, and keeps both across restarts, as
 * Kafka does with {@code maybeIncrementLogStartOffset}.
 *
 * <p>Not supported yet (refused or absent, see the module README): idempotent and transactional
 * producers, offsets for real timestamps and the time index, the leader-epoch cache, retention.
 *
 * <h2>Concurrency</h2>
 * All methods are thread-safe. {@code lock} guards {@code assignedEnd} (the offset the next
 * append receives, in-flight appends included) and {@code appendFailure}; it is held while a batch is
 * stamped and handed to {@link Stream#append}, so that stream offsets and stamped Kafka offsets
 * cannot diverge. Validation (record iteration, decompression) runs before the lock.
 *
 * <h2>Durability</h2>
 * The future of {@link #appendAsLeader} completes when the stream has made the batch durable.
 *
 * <h2>Failure</h2>
 * Futures fail with {@link KafkaLogException} subclasses whose {@link KafkaLogException#error()} is
 * the Kafka error code to answer with. A failed stream append fails every later in-flight append
 * (Strata's rule: no holes); the log then refuses appends with {@link LogStorageException} until it
 * is closed and re-opened. The exceptions: a batch above the store's own batch limit, and an append
 * refused by backpressure, are refused by the stream at once, before it takes an offset, so they
 * fail alone (MESSAGE_TOO_LARGE, REQUEST_TIMED_OUT) and the log goes on.
 *
 * <h2>Backpressure</h2>
 * None of its own: no queue or buffer here grows. When the store applies backpressure, the append
 * waits inside {@link Stream#append} (bounded by the store's setting) while holding {@code lock},
 * so later appends of this partition wait behind it in order, then fails with a
 * {@link LogStorageException} answering {@code REQUEST_TIMED_OUT} (retriable).
 */
public final class KafkaPartitionLog implements AutoCloseable {

    private final Stream stream;
    private final PartitionLogConfig config;
    private final Object lock = new Object();
    private long assignedEnd; // guarded by: lock
    private Throwable appendFailure; // guarded by: lock

    private KafkaPartitionLog(Stream stream, PartitionLogConfig config) {
        this.stream = stream;
        this.config = config;
        this.assignedEnd = stream.nextOffset();
    }

    /**
     * Creates an empty partition log on a new stream of {@code store}. Keep {@link #streamId()}: it
     * is how the partition is found again ({@link #open}).
     *
     * @param epoch the stream epoch of this holder (see {@link StreamStore}); a new leader opens with a higher one
     * @return the open log; fails with {@link LogStorageException}
     */
    public static CompletableFuture<KafkaPartitionLog> create(StreamStore store, long epoch, PartitionLogConfig config) {
        requireArgs(store, config);
        return store.createStream(StreamOptions.defaults().withEpoch(epoch))
                .handle((stream, error) -> {
                    if (error != null) {
                        throw new LogStorageException("cannot create the partition's stream: epoch=" + epoch, unwrap(error));
                    }
                    return new KafkaPartitionLog(stream, config);
                });
    }

    /**
     * Opens the partition log kept in stream {@code streamId}, fencing any holder with a lower epoch.
     * The log end offset and log start offset are those the stream kept.
     *
     * @return the open log; fails with {@link LogStorageException} (its cause says why: not found, fenced, ...)
     */
    public static CompletableFuture<KafkaPartitionLog> open(StreamStore store, long streamId, long epoch,
                                                            PartitionLogConfig config) {
        requireArgs(store, config);
        return store.openStream(streamId, epoch)
                .handle((stream, error) -> {
                    if (error != null) {
                        throw new LogStorageException("cannot open the partition's stream: streamId=" + streamId
                                + " epoch=" + epoch, unwrap(error));
                    }
                    return new KafkaPartitionLog(stream, config);
                });
    }

    private static void requireArgs(StreamStore store, PartitionLogConfig config) {
        if (store == null || config == null) {
            throw new IllegalArgumentException("store and config must not be null");
        }
    }

    /** The id of the data stream that holds this partition. */
    public long streamId() {
        return stream.id();
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
     * Appends one batch from a plain producer as the partition leader: validates it (see
     * {@link BatchValidator}), assigns its offsets from the log end offset, applies the configured
     * timestamp type, stamps {@code leaderEpoch}, and stores it durably.
     *
     * <p>Modifies {@code records}' buffer in place, as Kafka's broker does; the bytes must not change
     * until the future completes.
     *
     * @param records the partition's data of a Produce request: exactly one v2 batch
     * @param leaderEpoch the partition leader epoch stamped on the batch
     * @return the offsets and times of the durable batch; fails with {@link CorruptBatchException},
     *     {@link InvalidBatchException}, {@link InvalidBatchTimestampException},
     *     {@link BatchTooLargeException} or {@link LogStorageException}
     * @throws IllegalArgumentException if {@code records} is null
     */
    public CompletableFuture<AppendInfo> appendAsLeader(MemoryRecords records, int leaderEpoch) {
        if (records == null) {
            throw new IllegalArgumentException("records must not be null");
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
        CompletableFuture<AppendResult> appended;
        synchronized (lock) {
            if (appendFailure != null) {
                return CompletableFuture.failedFuture(new LogStorageException(
                        "an earlier append failed; re-open the log: streamId=" + stream.id(), appendFailure));
            }
            baseOffset = assignedEnd;
            logAppendTime = BatchValidator.stamp(validated, baseOffset, leaderEpoch, config, now);
            appended = stream.append(RecordBatch.of(validated.count(), validated.batch().maxTimestamp(), validated.bytes()));
            Throwable refused = appended.isCompletedExceptionally() ? appended.handle((r, e) -> unwrap(e)).join() : null;
            if (refused instanceof RecordTooLargeException tooLarge) {
                // Refused at once, before an offset was taken (the store checks its batch limit up
                // front): the stream and this log stay usable.
                return CompletableFuture.failedFuture(new BatchTooLargeException("batch exceeds the store's batch limit",
                        tooLarge.sizeBytes(), tooLarge.maxBytes(), tooLarge));
            }
            if (refused instanceof BackpressureException) {
                // Likewise refused at once with nothing taken (a full cache or WAL, after the store's
                // bounded wait): retriable, and the next append gets this offset. Should a store ever
                // take the offset anyway, the next append's offset check below fails the log.
                return CompletableFuture.failedFuture(new LogStorageException(
                        "append refused by backpressure: streamId=" + stream.id() + " baseOffset=" + baseOffset, refused));
            }
            assignedEnd = baseOffset + validated.count();
        }
        long lastOffset = baseOffset + validated.count() - 1;
        return appended.handle((result, error) -> {
            if (error == null && result.baseOffset() != baseOffset) {
                error = new IllegalStateException("stream assigned another offset than the log stamped: streamId="
                        + stream.id() + " stamped=" + baseOffset + " stream=" + result.baseOffset());
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
            return new AppendInfo(baseOffset, lastOffset, logAppendTime, logStartOffset);
        });
    }

    /**
     * Reads whole stored batches from {@code offset}: the batch containing {@code offset} (which
     * may begin below it) and the following ones while their total size stays within
     * {@code maxBytes}. With {@code minOneMessage} the first batch is returned even if larger than
     * {@code maxBytes}; without it such a read returns no records. A read at the log end offset
     * returns no records.
     *
     * @param isolation both isolations read to the high watermark while the log has no transactions
     * @return the records and offsets; fails with {@link LogOffsetOutOfRangeException} if
     *     {@code offset} is below the log start offset or above the log end offset, or
     *     {@link LogStorageException}
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
        if (offset == end || (maxBytes == 0 && !minOneMessage)) {
            return CompletableFuture.completedFuture(new ReadResult(MemoryRecords.EMPTY, end, end, start));
        }
        ReadAccumulator acc = new ReadAccumulator(maxBytes, minOneMessage, offset);
        return fetchInto(acc, end).thenApply(done -> new ReadResult(done.toRecords(), end, end, stream.startOffset()));
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
            try (fetched) {
                return acc.take(fetched.batches());
            }
        }).thenCompose(more -> more && acc.next < end ? fetchInto(acc, end) : CompletableFuture.completedFuture(acc));
    }

    /**
     * Whole batches within the byte limit, copied to the heap. The limit is Kafka's
     * {@code LogSegment.read}: {@code maxBytes}, raised to the first batch's size with
     * {@code minOneMessage}. (Kafka returns the byte range up to the limit, which may end in a
     * partial batch that consumers skip; this log returns only whole batches.) Used by one read at a
     * time; not thread-safe.
     */
    private static final class ReadAccumulator {
        private final int maxBytes;
        private final boolean minOneMessage;
        private final List<byte[]> taken = new ArrayList<>();
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

        /** Copies the batches that fit; returns whether more may be fetched. */
        boolean take(List<FetchedBatch> batches) {
            if (batches.isEmpty()) {
                return false;
            }
            for (FetchedBatch b : batches) {
                if (limit < 0) {
                    limit = minOneMessage ? Math.max(maxBytes, b.sizeBytes()) : maxBytes;
                }
                if (total + b.sizeBytes() > limit) {
                    return false;
                }
                byte[] copy = new byte[b.sizeBytes()];
                b.payload().get(copy);
                taken.add(copy);
                total += copy.length;
                next = b.nextOffset();
            }
            return true;
        }

        MemoryRecords toRecords() {
            if (taken.isEmpty()) {
                return MemoryRecords.EMPTY;
            }
            if (taken.size() == 1) {
                return MemoryRecords.readableRecords(ByteBuffer.wrap(taken.get(0)));
            }
            ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(total));
            taken.forEach(out::put);
            return MemoryRecords.readableRecords(out.flip());
        }
    }

    /**
     * Advances the log start offset to {@code offset} (Kafka's DeleteRecords): data below it is no
     * longer readable; the batch containing it stays readable whole. An offset at or below the
     * current log start offset changes nothing.
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
        return stream.trim(target).handle((ignored, error) -> {
            if (error != null) {
                Throwable cause = unwrap(error);
                if (cause instanceof OffsetOutOfRangeException oor) {
                    throw new LogOffsetOutOfRangeException("cannot move the log start offset beyond the high watermark",
                            offset, oor.startOffset(), oor.nextOffset());
                }
                throw new LogStorageException("deleteRecords failed: streamId=" + stream.id() + " offset=" + offset, cause);
            }
            return stream.startOffset();
        });
    }

    /**
     * The offset for a ListOffsets special timestamp: {@link ListOffsetsRequest#EARLIEST_TIMESTAMP}
     * (-2) gives the log start offset, {@link ListOffsetsRequest#LATEST_TIMESTAMP} (-1) the log end
     * offset.
     *
     * @throws UnsupportedOperationException for any other timestamp: the time index (real
     *     timestamps, -3 max timestamp) is not built yet
     */
    public long offsetForTimestamp(long timestamp) {
        if (timestamp == ListOffsetsRequest.EARLIEST_TIMESTAMP) {
            return stream.startOffset();
        }
        if (timestamp == ListOffsetsRequest.LATEST_TIMESTAMP) {
            return stream.nextOffset();
        }
        throw new UnsupportedOperationException("offsets by timestamp need the time index, not built yet: timestamp=" + timestamp);
    }

    /**
     * Closes the stream handle. Acknowledged batches stay durable; appends in flight either complete
     * or fail. Idempotent.
     *
     * @throws LogStorageException if the stream failed to close
     */
    @Override
    public void close() {
        try {
            stream.close().join();
        } catch (CompletionException e) {
            throw new LogStorageException("close failed: streamId=" + stream.id(), unwrap(e));
        }
    }

    private static Throwable unwrap(Throwable t) {
        return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    }
}
