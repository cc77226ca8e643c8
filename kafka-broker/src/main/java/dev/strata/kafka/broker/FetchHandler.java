package dev.strata.kafka.broker;

import dev.strata.kafka.Isolation;
import dev.strata.kafka.ReadResult;
import dev.strata.kafka.broker.Topics.Topic;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import dev.strata.core.ReadAllowance;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicIdPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.requests.FetchMetadata;
import org.apache.kafka.common.requests.FetchRequest;
import org.apache.kafka.common.requests.FetchResponse;

/**
 * Fetch for consumers, as full requests without fetch sessions: the answer's {@code sessionId} is 0,
 * which tells the Java client that no session was created, so it keeps sending full requests. A
 * request naming a session ({@code sessionId != 0}) answers FETCH_SESSION_ID_NOT_FOUND.
 *
 * <p>Partitions are read one after the other, in request order, within the request's
 * {@code maxBytes} and each partition's {@code partitionMaxBytes}; until one returns records the read
 * may exceed the limit by one batch (Kafka's {@code minOneMessage}). Fewer than {@code minBytes}
 * wait up to {@code maxWaitMs} for appends ({@link DelayedFetch}).
 *
 * <h2>Buffers</h2>
 * The records in the response are the log's {@link ReadResult#wireRecords()}: views of Strata's
 * fetch buffers, not copies. The response is a {@link HeldFetchResponse}: {@link RequestHandler}
 * sends those buffers as they are and closes it, releasing the reads, once the write to the socket
 * has completed (or failed). Reads that a waiting fetch replaces are closed by {@link DelayedFetch}.
 *
 * <h2>Quotas</h2>
 * As Kafka's brokers do (KIP-219), a fetch over its tenant's (or stream's) catch-up read quota is
 * answered at once, never held: each partition whose quota is in debt answers no records (its
 * offsets only); the others read at most the bytes their quota holds (at least one batch for the
 * first partition that returns records, Kafka's {@code minOneMessage}, which may put the quota into
 * debt). The bytes returned are charged to the quotas (not what the log loaded to return them); the
 * response's {@code throttle_time_ms} is the longest time until a quota of the request's partitions
 * is out of debt after the reads ({@link BrokerQuotas#chargeCatchUpRead}); the client waits
 * that long, and {@link RequestHandler} stops reading the connection meanwhile (or, for a Fetch
 * older than v8, delays the response by it). A fetch with a throttle time is answered without
 * waiting for {@code minBytes}. Tail reads (from the log cache) are never counted nor limited. The
 * fetch is never failed for a quota.
 */
final class FetchHandler {
    private final Topics topics;
    private final ScheduledExecutorService scheduler;
    private final BrokerQuotas quotas;

    FetchHandler(Topics topics, ScheduledExecutorService scheduler, BrokerQuotas quotas) {
        this.topics = topics;
        this.scheduler = scheduler;
        this.quotas = quotas;
    }

    /** One read of every partition of the request, and the log reads it holds. Filled by one read at a time. */
    private static final class Outcome implements DelayedFetch.ReadOutcome {
        final LinkedHashMap<TopicIdPartition, FetchResponseData.PartitionData> partitions = new LinkedHashMap<>();
        final List<ReadResult> held = new ArrayList<>(); // closed once, by close()
        int bytes;
        boolean error;
        long throttleNanos; // the longest wait a quota of the read partitions asks for

        void throttle(long nanos) {
            throttleNanos = Math.max(throttleNanos, nanos);
        }

        @Override
        public boolean throttled() {
            return throttleNanos > 0;
        }

        @Override
        public synchronized void close() {
            held.forEach(ReadResult::close);
            held.clear();
        }

        @Override
        public int bytes() {
            return bytes;
        }

        @Override
        public boolean hasError() {
            return error;
        }
    }

    CompletableFuture<FetchResponseData> handle(FetchRequest request) {
        FetchMetadata session = request.metadata();
        if (session.sessionId() != FetchMetadata.INVALID_SESSION_ID) {
            return CompletableFuture.completedFuture(new FetchResponseData()
                    .setErrorCode(Errors.FETCH_SESSION_ID_NOT_FOUND.code()).setSessionId(0));
        }
        Map<TopicIdPartition, FetchRequest.PartitionData> wanted = request.fetchData(topics.names());
        Isolation isolation = request.isolationLevel() == IsolationLevel.READ_COMMITTED
                ? Isolation.TXN_COMMITTED : Isolation.HIGH_WATERMARK;
        List<Partition> served = new ArrayList<>();
        wanted.forEach((tip, data) -> {
            Partition p = partition(tip);
            if (p != null) {
                served.add(p);
            }
        });
        return DelayedFetch.run(() -> readAll(wanted, request.maxBytes(), isolation), request.minBytes(),
                        request.maxWait(), served, scheduler)
                .thenApply(outcome -> {
                    try {
                        return new HeldFetchResponse(FetchResponse.of(Errors.NONE,
                                BrokerQuotas.throttleTimeMs(outcome.throttleNanos),
                                FetchMetadata.INVALID_SESSION_ID, outcome.partitions, List.of()).data(), outcome);
                    } catch (RuntimeException e) {
                        outcome.close();
                        throw e;
                    }
                });
    }

    /**
     * A Fetch response whose records are the reads' (views of Strata's fetch buffers);
     * {@link RequestHandler} closes it once the response has been written to the socket.
     */
    static final class HeldFetchResponse extends FetchResponseData implements AutoCloseable {
        private final Outcome outcome;

        private HeldFetchResponse(FetchResponseData data, Outcome outcome) {
            this.outcome = outcome;
            setThrottleTimeMs(data.throttleTimeMs()).setErrorCode(data.errorCode()).setSessionId(data.sessionId())
                    .setResponses(data.responses()).setNodeEndpoints(data.nodeEndpoints());
        }

        /** Releases the reads; idempotent. */
        @Override
        public void close() {
            outcome.close();
        }
    }

    /** The partition {@code tip} names (by topic id when it has one), or null. */
    private Partition partition(TopicIdPartition tip) {
        Topic topic = Uuid.ZERO_UUID.equals(tip.topicId()) ? topics.byName(tip.topic()) : topics.byId(tip.topicId());
        int index = tip.partition();
        return topic == null || index < 0 || index >= topic.partitions().size() ? null : topic.partitions().get(index);
    }

    private CompletableFuture<Outcome> readAll(Map<TopicIdPartition, FetchRequest.PartitionData> wanted, int maxBytes,
                                               Isolation isolation) {
        Outcome outcome = new Outcome();
        CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
        for (Map.Entry<TopicIdPartition, FetchRequest.PartitionData> e : wanted.entrySet()) {
            chain = chain.thenCompose(v -> readOne(e.getKey(), e.getValue(), maxBytes, isolation, outcome));
        }
        return chain.thenApply(v -> outcome);
    }

    private CompletableFuture<Void> readOne(TopicIdPartition tip, FetchRequest.PartitionData data, int maxBytes,
                                            Isolation isolation, Outcome outcome) {
        Partition partition = partition(tip);
        if (partition == null) {
            boolean byId = !Uuid.ZERO_UUID.equals(tip.topicId());
            outcome.partitions.put(tip, failed(byId && topics.byId(tip.topicId()) == null
                    ? Errors.UNKNOWN_TOPIC_ID : Errors.UNKNOWN_TOPIC_OR_PARTITION));
            outcome.error = true;
            return CompletableFuture.completedFuture(null);
        }
        Errors epochError = LeaderEpochs.check(data.currentLeaderEpoch);
        if (epochError != Errors.NONE) {
            outcome.partitions.put(tip, failed(epochError));
            outcome.error = true;
            return CompletableFuture.completedFuture(null);
        }
        int limit = Math.max(0, Math.min(data.maxBytes, maxBytes - outcome.bytes));
        boolean minOneMessage = outcome.bytes == 0;
        long streamId = partition.log().streamId();
        ReadAllowance allowance = quotas.readAllowance(streamId, data.fetchOffset);
        if (allowance.waitNanos() > 0) { // the quota is in debt: no records now, only the offsets
            outcome.throttle(allowance.waitNanos());
            limit = 0;
            minOneMessage = false;
        } else if (allowance.bytes() < limit) {
            limit = (int) allowance.bytes();
        }
        CompletableFuture<ReadResult> read;
        try {
            read = partition.log().read(data.fetchOffset, limit, isolation, minOneMessage);
        } catch (RuntimeException e) {
            read = CompletableFuture.failedFuture(e);
        }
        boolean counted = !allowance.isUnlimited() && allowance.waitNanos() == 0; // a catch-up read under a quota
        return read.handle((r, error) -> {
            if (counted && error == null) { // what is returned counts; it owes at most one batch beyond the quota
                outcome.throttle(quotas.chargeCatchUpRead(streamId, r.sizeInBytes()));
            }
            if (error != null) {
                outcome.partitions.put(tip, failed(BrokerErrors.of(error)));
                outcome.error = true;
            } else {
                synchronized (outcome) {
                    outcome.held.add(r); // first: released with the outcome whatever happens below
                }
                FetchResponseData.PartitionData answer = new FetchResponseData.PartitionData()
                        .setErrorCode(Errors.NONE.code())
                        .setHighWatermark(r.highWatermark())
                        .setLastStableOffset(r.lastStableOffset())
                        .setLogStartOffset(r.logStartOffset())
                        .setRecords(r.wireRecords());
                if (isolation == Isolation.TXN_COMMITTED) { // the consumer drops these transactions' records
                    answer.setAbortedTransactions(r.abortedTransactions().stream()
                            .map(a -> new FetchResponseData.AbortedTransaction().setProducerId(a.producerId())
                                    .setFirstOffset(a.firstOffset()))
                            .toList());
                }
                outcome.partitions.put(tip, answer);
                outcome.bytes += r.sizeInBytes();
            }
            return null;
        });
    }

    private static FetchResponseData.PartitionData failed(Errors error) {
        return new FetchResponseData.PartitionData()
                .setErrorCode(error.code())
                .setHighWatermark(FetchResponse.INVALID_HIGH_WATERMARK)
                .setLastStableOffset(FetchResponse.INVALID_LAST_STABLE_OFFSET)
                .setLogStartOffset(FetchResponse.INVALID_LOG_START_OFFSET)
                .setRecords(MemoryRecords.EMPTY);
    }
}
