package dev.strata.kafka.broker;

import dev.strata.kafka.KafkaPartitionLog;
import dev.strata.kafka.TimestampAndOffset;
import dev.strata.kafka.broker.Topics.Topic;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.message.ListOffsetsRequestData.ListOffsetsPartition;
import org.apache.kafka.common.message.ListOffsetsRequestData.ListOffsetsTopic;
import org.apache.kafka.common.message.ListOffsetsResponseData;
import org.apache.kafka.common.message.ListOffsetsResponseData.ListOffsetsPartitionResponse;
import org.apache.kafka.common.message.ListOffsetsResponseData.ListOffsetsTopicResponse;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ListOffsetsRequest;

/**
 * ListOffsets from {@link dev.strata.kafka.KafkaPartitionLog#fetchOffsetByTimestamp}: earliest (-2),
 * latest (-1), max timestamp (-3) and real timestamps (from the log's time index), with leader
 * epochs, capped as Kafka's {@code Partition.fetchOffsetForTimestamp} caps them: latest is the
 * last stable offset for READ_COMMITTED and the high watermark otherwise, and a lookup's answer at
 * or beyond that offset is "none" (offset -1). Asynchronous: a lookup may read the time index and
 * one interval of data.
 */
final class ListOffsetsHandler {
    private final Topics topics;

    ListOffsetsHandler(Topics topics) {
        this.topics = topics;
    }

    CompletableFuture<ListOffsetsResponseData> handle(ListOffsetsRequest request) {
        ListOffsetsResponseData response = new ListOffsetsResponseData();
        List<CompletableFuture<?>> pending = new ArrayList<>();
        for (ListOffsetsTopic wanted : request.data().topics()) {
            Topic topic = topics.byName(wanted.name());
            ListOffsetsTopicResponse out = new ListOffsetsTopicResponse().setName(wanted.name());
            response.topics().add(out);
            for (ListOffsetsPartition p : wanted.partitions()) {
                ListOffsetsPartitionResponse answer = new ListOffsetsPartitionResponse().setPartitionIndex(p.partitionIndex())
                        .setTimestamp(-1).setOffset(-1).setLeaderEpoch(-1);
                out.partitions().add(answer);
                pending.add(answer(topic, p, request.isolationLevel(), answer));
            }
        }
        return CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).thenApply(v -> response);
    }

    /** Fills {@code out}; the future never fails (errors become the partition's error code). */
    private static CompletableFuture<Void> answer(Topic topic, ListOffsetsPartition wanted, IsolationLevel isolation,
                                                  ListOffsetsPartitionResponse out) {
        if (topic == null || wanted.partitionIndex() < 0 || wanted.partitionIndex() >= topic.partitions().size()) {
            out.setErrorCode(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
            return CompletableFuture.completedFuture(null);
        }
        Errors epochError = LeaderEpochs.check(wanted.currentLeaderEpoch());
        if (epochError != Errors.NONE) {
            out.setErrorCode(epochError.code());
            return CompletableFuture.completedFuture(null);
        }
        KafkaPartitionLog log = topic.partitions().get(wanted.partitionIndex()).log();
        long lastFetchable = isolation == IsolationLevel.READ_COMMITTED ? log.lastStableOffset() : log.highWatermark();
        CompletableFuture<Optional<TimestampAndOffset>> lookup;
        try {
            lookup = log.fetchOffsetByTimestamp(wanted.timestamp());
        } catch (RuntimeException e) {
            out.setErrorCode(BrokerErrors.of(e).code());
            return CompletableFuture.completedFuture(null);
        }
        return lookup.handle((found, error) -> {
            if (error != null) {
                out.setErrorCode(BrokerErrors.of(error).code());
                return null;
            }
            out.setErrorCode(Errors.NONE.code());
            if (wanted.timestamp() == ListOffsetsRequest.LATEST_TIMESTAMP) {
                out.setOffset(lastFetchable).setLeaderEpoch(found.map(f -> f.leaderEpoch().orElse(-1))
                        .orElse(-1));
                return null;
            }
            boolean fetchable = wanted.timestamp() == ListOffsetsRequest.EARLIEST_TIMESTAMP
                    || found.map(f -> f.offset() < lastFetchable).orElse(false);
            found.filter(f -> fetchable).ifPresent(f -> out.setTimestamp(f.timestamp()).setOffset(f.offset())
                    .setLeaderEpoch(f.leaderEpoch().orElse(-1)));
            return null;
        });
    }
}
