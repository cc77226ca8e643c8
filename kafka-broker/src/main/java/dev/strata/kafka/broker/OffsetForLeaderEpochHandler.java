package dev.strata.kafka.broker;

import dev.strata.kafka.EpochEndOffset;
import dev.strata.kafka.broker.Topics.Topic;
import org.apache.kafka.common.message.OffsetForLeaderEpochRequestData.OffsetForLeaderPartition;
import org.apache.kafka.common.message.OffsetForLeaderEpochRequestData.OffsetForLeaderTopic;
import org.apache.kafka.common.message.OffsetForLeaderEpochResponseData;
import org.apache.kafka.common.message.OffsetForLeaderEpochResponseData.OffsetForLeaderTopicResult;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.OffsetsForLeaderEpochRequest;

/**
 * OffsetForLeaderEpoch, which consumers send to validate their position after a metadata change:
 * {@link dev.strata.kafka.KafkaPartitionLog#endOffsetForEpoch} answers it from the log's leader-epoch
 * cache (Kafka's rules). Synchronous: the cache is in memory.
 */
final class OffsetForLeaderEpochHandler {
    private final Topics topics;

    OffsetForLeaderEpochHandler(Topics topics) {
        this.topics = topics;
    }

    OffsetForLeaderEpochResponseData handle(OffsetsForLeaderEpochRequest request) {
        OffsetForLeaderEpochResponseData response = new OffsetForLeaderEpochResponseData();
        for (OffsetForLeaderTopic wanted : request.data().topics()) {
            Topic topic = topics.byName(wanted.topic());
            OffsetForLeaderTopicResult out = new OffsetForLeaderTopicResult().setTopic(wanted.topic());
            for (OffsetForLeaderPartition p : wanted.partitions()) {
                out.partitions().add(answer(topic, p));
            }
            response.topics().add(out);
        }
        return response;
    }

    private static OffsetForLeaderEpochResponseData.EpochEndOffset answer(Topic topic, OffsetForLeaderPartition wanted) {
        OffsetForLeaderEpochResponseData.EpochEndOffset out = new OffsetForLeaderEpochResponseData.EpochEndOffset()
                .setPartition(wanted.partition())
                .setLeaderEpoch(EpochEndOffset.UNDEFINED_EPOCH).setEndOffset(EpochEndOffset.UNDEFINED_EPOCH_OFFSET);
        if (topic == null || wanted.partition() < 0 || wanted.partition() >= topic.partitions().size()) {
            return out.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
        }
        Errors epochError = LeaderEpochs.check(wanted.currentLeaderEpoch());
        if (epochError != Errors.NONE) {
            return out.setErrorCode(epochError.code());
        }
        EpochEndOffset found = topic.partitions().get(wanted.partition()).log().endOffsetForEpoch(wanted.leaderEpoch());
        return out.setErrorCode(Errors.NONE.code()).setLeaderEpoch(found.leaderEpoch()).setEndOffset(found.endOffset());
    }
}
