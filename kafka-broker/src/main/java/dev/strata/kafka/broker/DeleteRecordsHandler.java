package dev.strata.kafka.broker;

import dev.strata.kafka.broker.Topics.Topic;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.DeleteRecordsRequestData.DeleteRecordsPartition;
import org.apache.kafka.common.message.DeleteRecordsRequestData.DeleteRecordsTopic;
import org.apache.kafka.common.message.DeleteRecordsResponseData;
import org.apache.kafka.common.message.DeleteRecordsResponseData.DeleteRecordsPartitionResult;
import org.apache.kafka.common.message.DeleteRecordsResponseData.DeleteRecordsTopicResult;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.DeleteRecordsRequest;
import org.apache.kafka.common.requests.DeleteRecordsResponse;

/**
 * DeleteRecords (the admin client's {@code deleteRecords}): moves each partition's log start offset
 * with {@link dev.strata.kafka.KafkaPartitionLog#deleteRecords} and answers its new low watermark
 * once the trim is durable. The offset -1 means the high watermark. Errors as Kafka's:
 * UNKNOWN_TOPIC_OR_PARTITION for a topic or partition not served, OFFSET_OUT_OF_RANGE for an offset
 * beyond the high watermark (or negative other than -1); an offset below the current log start
 * offset changes nothing and answers the current one. The request's {@code timeoutMs} is not used:
 * there are no replicas to wait for.
 *
 * <p>Thread-safe; never blocks the calling thread.
 */
final class DeleteRecordsHandler {
    private final Topics topics;

    DeleteRecordsHandler(Topics topics) {
        this.topics = topics;
    }

    CompletableFuture<DeleteRecordsResponseData> handle(DeleteRecordsRequest request) {
        record Pending(String topic, int partition, CompletableFuture<DeleteRecordsPartitionResult> result) {
        }
        List<Pending> pending = new ArrayList<>();
        for (DeleteRecordsTopic wanted : request.data().topics()) {
            Topic topic = topics.byName(wanted.name());
            for (DeleteRecordsPartition p : wanted.partitions()) {
                pending.add(new Pending(wanted.name(), p.partitionIndex(), deleteOne(topic, p)));
            }
        }
        return CompletableFuture.allOf(pending.stream().map(Pending::result).toArray(CompletableFuture[]::new))
                .thenApply(v -> {
                    DeleteRecordsResponseData response = new DeleteRecordsResponseData();
                    for (Pending p : pending) {
                        DeleteRecordsTopicResult topic = response.topics().find(p.topic());
                        if (topic == null) {
                            topic = new DeleteRecordsTopicResult().setName(p.topic());
                            response.topics().add(topic);
                        }
                        DeleteRecordsPartitionResult result = p.result().join();
                        if (topic.partitions().find(result.partitionIndex()) == null) { // a partition named twice: first answer
                            topic.partitions().add(result);
                        }
                    }
                    return response;
                });
    }

    private static CompletableFuture<DeleteRecordsPartitionResult> deleteOne(Topic topic, DeleteRecordsPartition wanted) {
        int index = wanted.partitionIndex();
        if (topic == null || index < 0 || index >= topic.partitions().size()) {
            return CompletableFuture.completedFuture(error(index, Errors.UNKNOWN_TOPIC_OR_PARTITION));
        }
        return topic.partitions().get(index).log().deleteRecords(wanted.offset()).handle((lowWatermark, failure) ->
                failure == null
                        ? new DeleteRecordsPartitionResult().setPartitionIndex(index).setLowWatermark(lowWatermark)
                                .setErrorCode(Errors.NONE.code())
                        : error(index, BrokerErrors.of(failure)));
    }

    private static DeleteRecordsPartitionResult error(int partition, Errors error) {
        return new DeleteRecordsPartitionResult().setPartitionIndex(partition)
                .setLowWatermark(DeleteRecordsResponse.INVALID_LOW_WATERMARK).setErrorCode(error.code());
    }
}
