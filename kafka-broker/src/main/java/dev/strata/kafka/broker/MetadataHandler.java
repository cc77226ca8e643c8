package dev.strata.kafka.broker;

import dev.strata.kafka.broker.Topics.Topic;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.MetadataRequestData.MetadataRequestTopic;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.message.MetadataResponseData.MetadataResponseBroker;
import org.apache.kafka.common.message.MetadataResponseData.MetadataResponsePartition;
import org.apache.kafka.common.message.MetadataResponseData.MetadataResponseTopic;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.MetadataRequest;

/**
 * Metadata: one broker (node {@link KafkaApis#NODE_ID}, at the address the client connected to) that leads every
 * partition at leader epoch {@link Topics#LEADER_EPOCH} and is its only replica. A topic asked for by
 * name that does not exist is created with the default partition count when the request allows
 * auto-creation (Kafka's {@code auto.create.topics.enable=true}); the answer then already lists it.
 */
final class MetadataHandler {
    private final Topics topics;
    private final int defaultPartitions;

    MetadataHandler(Topics topics, int defaultPartitions) {
        this.topics = topics;
        this.defaultPartitions = defaultPartitions;
    }

    /**
     * @param local the address the client connected to: advertised as the broker's (so a broker
     *     listening on 0.0.0.0 advertises the interface each client reached)
     */
    CompletableFuture<MetadataResponseData> handle(MetadataRequest request, InetSocketAddress local) {
        List<CompletableFuture<MetadataResponseTopic>> answers = new ArrayList<>();
        if (request.isAllTopics()) {
            topics.all().forEach(t -> answers.add(CompletableFuture.completedFuture(describe(t))));
        } else {
            for (MetadataRequestTopic wanted : request.data().topics()) {
                answers.add(answer(wanted, request.allowAutoTopicCreation()));
            }
        }
        return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).thenApply(v -> {
            MetadataResponseData response = new MetadataResponseData()
                    .setClusterId(topics.catalog().clusterId())
                    .setControllerId(KafkaApis.NODE_ID);
            response.brokers().add(new MetadataResponseBroker().setNodeId(KafkaApis.NODE_ID)
                    .setHost(local.getHostString()).setPort(local.getPort()));
            answers.forEach(a -> response.topics().add(a.join()));
            return response;
        });
    }

    private CompletableFuture<MetadataResponseTopic> answer(MetadataRequestTopic wanted, boolean autoCreate) {
        if (wanted.name() == null) { // by topic id (v10+)
            Topic topic = topics.byId(wanted.topicId());
            return CompletableFuture.completedFuture(topic != null ? describe(topic)
                    : error(null, wanted.topicId(), Errors.UNKNOWN_TOPIC_ID));
        }
        Topic topic = topics.byName(wanted.name());
        if (topic != null) {
            return CompletableFuture.completedFuture(describe(topic));
        }
        if (!autoCreate) {
            return CompletableFuture.completedFuture(error(wanted.name(), Uuid.ZERO_UUID, Errors.UNKNOWN_TOPIC_OR_PARTITION));
        }
        return topics.getOrCreate(wanted.name(), defaultPartitions).handle((created, failure) ->
                failure == null ? describe(created) : error(wanted.name(), Uuid.ZERO_UUID, BrokerErrors.of(failure)));
    }

    private static MetadataResponseTopic describe(Topic topic) {
        MetadataResponseTopic out = new MetadataResponseTopic().setName(topic.name()).setTopicId(topic.id())
                .setErrorCode(Errors.NONE.code()).setIsInternal(false);
        for (Partition p : topic.partitions()) {
            out.partitions().add(new MetadataResponsePartition()
                    .setErrorCode(Errors.NONE.code())
                    .setPartitionIndex(p.topicPartition().partition())
                    .setLeaderId(KafkaApis.NODE_ID)
                    .setLeaderEpoch(Topics.LEADER_EPOCH)
                    .setReplicaNodes(List.of(KafkaApis.NODE_ID))
                    .setIsrNodes(List.of(KafkaApis.NODE_ID))
                    .setOfflineReplicas(List.of()));
        }
        return out;
    }

    private static MetadataResponseTopic error(String name, Uuid id, Errors error) {
        return new MetadataResponseTopic().setName(name).setTopicId(id).setErrorCode(error.code());
    }
}
