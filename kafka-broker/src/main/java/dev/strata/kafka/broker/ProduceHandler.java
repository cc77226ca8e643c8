package dev.strata.kafka.broker;

import dev.strata.kafka.AppendInfo;
import dev.strata.kafka.InvalidBatchException;
import dev.strata.kafka.InvalidBatchTimestampException;
import dev.strata.kafka.broker.Topics.Topic;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.message.ProduceResponseData;
import org.apache.kafka.common.message.ProduceResponseData.BatchIndexAndErrorMessage;
import org.apache.kafka.common.message.ProduceResponseData.PartitionProduceResponse;
import org.apache.kafka.common.message.ProduceResponseData.TopicProduceResponse;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.requests.ProduceRequest;
import org.apache.kafka.common.requests.ProduceResponse.RecordError;

/**
 * Produce: each partition's batch goes to {@link dev.strata.kafka.KafkaPartitionLog#appendAsLeader},
 * which validates it and completes once it is durable. The response is therefore sent only when every
 * batch of the request is durable, for {@code acks=1} and {@code acks=all} alike (one durable copy is
 * the whole "ISR"); {@code acks=0} gets no response. The request's {@code timeoutMs} is not used: the
 * store bounds an append's wait itself (backpressure answers REQUEST_TIMED_OUT).
 *
 * <p>Append quotas (the tenant's, a stream's) never delay nor refuse a Produce here: the broker
 * throttles ({@link BrokerQuotas}), so the store charges the batches and appends them at once; the
 * response's {@code throttle_time_ms} is the longest time the append quotas of the request's
 * partitions are in debt once its batches are durable, and {@link RequestHandler} stops reading the
 * connection for that long (for a Produce older than v6, delays the response instead; for
 * {@code acks=0}, which gets no response, only stops reading), as Kafka's brokers do.
 *
 * <p>Appends are started on the calling thread in request order, so a connection's pipelined
 * requests reach each partition log in the order sent (idempotent producers rely on it). A topic that
 * does not exist answers UNKNOWN_TOPIC_OR_PARTITION (retriable): the producer then asks Metadata,
 * which creates it, as Kafka does.
 */
final class ProduceHandler {
    private final Topics topics;
    private final BrokerQuotas quotas;

    ProduceHandler(Topics topics, BrokerQuotas quotas) {
        this.topics = topics;
        this.quotas = quotas;
    }

    CompletableFuture<ProduceResponseData> handle(ProduceRequest request) {
        ProduceRequestData data = request.data();
        short acks = data.acks();
        if (acks != 0 && acks != 1 && acks != -1) {
            return CompletableFuture.completedFuture(errorResponse(data, Errors.INVALID_REQUIRED_ACKS));
        }
        ProduceResponseData response = new ProduceResponseData();
        List<CompletableFuture<?>> appends = new ArrayList<>();
        List<Long> appendedStreams = new ArrayList<>();
        for (ProduceRequestData.TopicProduceData topicData : data.topicData()) {
            boolean byId = !Uuid.ZERO_UUID.equals(topicData.topicId()); // v13+ address topics by id
            Topic topic = byId ? topics.byId(topicData.topicId()) : topics.byName(topicData.name());
            Errors unknown = byId ? Errors.UNKNOWN_TOPIC_ID : Errors.UNKNOWN_TOPIC_OR_PARTITION;
            TopicProduceResponse topicResponse = new TopicProduceResponse()
                    .setName(topicData.name()).setTopicId(topicData.topicId());
            response.responses().add(topicResponse);
            for (ProduceRequestData.PartitionProduceData partitionData : topicData.partitionData()) {
                PartitionProduceResponse out = new PartitionProduceResponse().setIndex(partitionData.index());
                topicResponse.partitionResponses().add(out);
                if (topic == null || partitionData.index() < 0 || partitionData.index() >= topic.partitions().size()) {
                    out.setErrorCode((topic == null ? unknown : Errors.UNKNOWN_TOPIC_OR_PARTITION).code());
                    continue;
                }
                if (!(partitionData.records() instanceof MemoryRecords records)) {
                    out.setErrorCode(Errors.CORRUPT_MESSAGE.code());
                    continue;
                }
                Partition partition = topic.partitions().get(partitionData.index());
                appendedStreams.add(partition.log().streamId());
                CompletableFuture<AppendInfo> append;
                try {
                    append = partition.log().appendAsLeader(records, Topics.LEADER_EPOCH);
                } catch (RuntimeException e) {
                    append = CompletableFuture.failedFuture(e);
                }
                appends.add(append.handle((info, error) -> {
                    if (error == null) {
                        out.setBaseOffset(info.baseOffset()).setLogAppendTimeMs(info.logAppendTimeMs())
                                .setLogStartOffset(info.logStartOffset());
                        partition.appended();
                    } else {
                        fail(out, error);
                    }
                    return null;
                }));
            }
        }
        return CompletableFuture.allOf(appends.toArray(CompletableFuture[]::new)).thenApply(v -> {
            long owed = 0; // the append quotas the request put into debt: the client waits them out
            for (long streamId : appendedStreams) {
                owed = Math.max(owed, quotas.appendWaitNanos(streamId));
            }
            return response.setThrottleTimeMs(BrokerQuotas.throttleTimeMs(owed));
        });
    }

    private static void fail(PartitionProduceResponse out, Throwable error) {
        Throwable cause = BrokerErrors.unwrap(error);
        out.setErrorCode(BrokerErrors.of(cause).code()).setErrorMessage(cause.getMessage())
                .setBaseOffset(-1).setLogAppendTimeMs(-1).setLogStartOffset(-1);
        List<RecordError> recordErrors = cause instanceof InvalidBatchException e ? e.recordErrors()
                : cause instanceof InvalidBatchTimestampException e ? e.recordErrors() : List.of();
        for (RecordError r : recordErrors) {
            out.recordErrors().add(new BatchIndexAndErrorMessage().setBatchIndex(r.batchIndex)
                    .setBatchIndexErrorMessage(r.message));
        }
    }

    private static ProduceResponseData errorResponse(ProduceRequestData data, Errors error) {
        ProduceResponseData response = new ProduceResponseData();
        for (ProduceRequestData.TopicProduceData topicData : data.topicData()) {
            TopicProduceResponse topicResponse = new TopicProduceResponse()
                    .setName(topicData.name()).setTopicId(topicData.topicId());
            for (ProduceRequestData.PartitionProduceData p : topicData.partitionData()) {
                topicResponse.partitionResponses().add(new PartitionProduceResponse().setIndex(p.index())
                        .setErrorCode(error.code()));
            }
            response.responses().add(topicResponse);
        }
        return response;
    }
}
