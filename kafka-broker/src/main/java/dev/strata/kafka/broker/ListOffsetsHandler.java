package dev.strata.kafka.broker;

import dev.strata.kafka.TimestampAndOffset;
import dev.strata.kafka.broker.Topics.Topic;
import org.apache.kafka.common.message.ListOffsetsRequestData.ListOffsetsPartition;
import org.apache.kafka.common.message.ListOffsetsRequestData.ListOffsetsTopic;
import org.apache.kafka.common.message.ListOffsetsResponseData;
import org.apache.kafka.common.message.ListOffsetsResponseData.ListOffsetsPartitionResponse;
import org.apache.kafka.common.message.ListOffsetsResponseData.ListOffsetsTopicResponse;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ListOffsetsRequest;

/**
 * ListOffsets from {@link dev.strata.kafka.KafkaPartitionLog#fetchOffsetByTimestamp}: earliest (-2)
 * and latest (-1) with their leader epochs. Lookups the log cannot answer yet (a real timestamp, -3
 * max timestamp, until the log has its time index) answer UNSUPPORTED_VERSION for that partition.
 * Synchronous: the log answers these from memory.
 */
final class ListOffsetsHandler {
    private final Topics topics;

    ListOffsetsHandler(Topics topics) {
        this.topics = topics;
    }

    ListOffsetsResponseData handle(ListOffsetsRequest request) {
        ListOffsetsResponseData response = new ListOffsetsResponseData();
        for (ListOffsetsTopic wanted : request.data().topics()) {
            Topic topic = topics.byName(wanted.name());
            ListOffsetsTopicResponse out = new ListOffsetsTopicResponse().setName(wanted.name());
            response.topics().add(out);
            for (ListOffsetsPartition p : wanted.partitions()) {
                out.partitions().add(answer(topic, p));
            }
        }
        return response;
    }

    private static ListOffsetsPartitionResponse answer(Topic topic, ListOffsetsPartition wanted) {
        ListOffsetsPartitionResponse out = new ListOffsetsPartitionResponse().setPartitionIndex(wanted.partitionIndex())
                .setTimestamp(-1).setOffset(-1).setLeaderEpoch(-1);
        if (topic == null || wanted.partitionIndex() < 0 || wanted.partitionIndex() >= topic.partitions().size()) {
            return out.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
        }
        Errors epochError = LeaderEpochs.check(wanted.currentLeaderEpoch());
        if (epochError != Errors.NONE) {
            return out.setErrorCode(epochError.code());
        }
        try {
            TimestampAndOffset found = topic.partitions().get(wanted.partitionIndex()).log()
                    .fetchOffsetByTimestamp(wanted.timestamp());
            return out.setErrorCode(Errors.NONE.code()).setTimestamp(found.timestamp()).setOffset(found.offset())
                    .setLeaderEpoch(found.leaderEpoch().orElse(-1));
        } catch (UnsupportedOperationException e) {
            return out.setErrorCode(Errors.UNSUPPORTED_VERSION.code());
        } catch (RuntimeException e) {
            return out.setErrorCode(BrokerErrors.of(e).code());
        }
    }
}
