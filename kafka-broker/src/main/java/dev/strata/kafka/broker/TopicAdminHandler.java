package dev.strata.kafka.broker;

import dev.strata.kafka.broker.Topics.Topic;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.CreateTopicsRequestData.CreatableTopic;
import org.apache.kafka.common.message.CreateTopicsResponseData;
import org.apache.kafka.common.message.CreateTopicsResponseData.CreatableTopicResult;
import org.apache.kafka.common.message.DeleteTopicsRequestData.DeleteTopicState;
import org.apache.kafka.common.message.DeleteTopicsResponseData;
import org.apache.kafka.common.message.DeleteTopicsResponseData.DeletableTopicResult;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.CreateTopicsRequest;
import org.apache.kafka.common.requests.DeleteTopicsRequest;

/**
 * CreateTopics and DeleteTopics. A topic's partitions all live on this broker, so the replication
 * factor must be 1 or -1 (default), and manual replica assignments are refused
 * (INVALID_REPLICA_ASSIGNMENT). Topic configs are accepted and not applied (every topic uses the
 * broker's log settings; see the README's "not done yet").
 */
final class TopicAdminHandler {
    private final Topics topics;
    private final int defaultPartitions;

    TopicAdminHandler(Topics topics, int defaultPartitions) {
        this.topics = topics;
        this.defaultPartitions = defaultPartitions;
    }

    CompletableFuture<CreateTopicsResponseData> create(CreateTopicsRequest request) {
        Set<String> seen = new HashSet<>();
        Set<String> duplicates = new HashSet<>();
        request.data().topics().forEach(t -> {
            if (!seen.add(t.name())) {
                duplicates.add(t.name());
            }
        });
        List<CompletableFuture<CreatableTopicResult>> results = new ArrayList<>();
        for (CreatableTopic wanted : request.data().topics()) {
            if (duplicates.contains(wanted.name())) {
                results.add(CompletableFuture.completedFuture(createError(wanted.name(), Errors.INVALID_REQUEST,
                        "topic named more than once in the request: " + wanted.name())));
            } else {
                results.add(createOne(wanted, request.data().validateOnly()));
            }
        }
        return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).thenApply(v -> {
            CreateTopicsResponseData response = new CreateTopicsResponseData();
            results.forEach(r -> response.topics().add(r.join()));
            return response;
        });
    }

    private CompletableFuture<CreatableTopicResult> createOne(CreatableTopic wanted, boolean validateOnly) {
        String name = wanted.name();
        int partitions = wanted.numPartitions() == -1 ? defaultPartitions : wanted.numPartitions();
        if (wanted.replicationFactor() != -1 && wanted.replicationFactor() != 1) {
            return CompletableFuture.completedFuture(createError(name, Errors.INVALID_REPLICATION_FACTOR,
                    "replication factor must be 1 (one broker), got " + wanted.replicationFactor()));
        }
        if (!wanted.assignments().isEmpty()) {
            return CompletableFuture.completedFuture(createError(name, Errors.INVALID_REPLICA_ASSIGNMENT,
                    "manual replica assignments are not supported"));
        }
        try {
            topics.validateNew(name, partitions);
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(createError(name, BrokerErrors.of(e), e.getMessage()));
        }
        if (validateOnly) {
            Errors exists = topics.byName(name) != null ? Errors.TOPIC_ALREADY_EXISTS : Errors.NONE;
            return CompletableFuture.completedFuture(createError(name, exists, null)
                    .setNumPartitions(partitions).setReplicationFactor((short) 1));
        }
        return topics.create(name, partitions).handle((topic, failure) -> failure != null
                ? createError(name, BrokerErrors.of(failure), BrokerErrors.unwrap(failure).getMessage())
                : new CreatableTopicResult().setName(name).setTopicId(topic.id()).setErrorCode(Errors.NONE.code())
                        .setNumPartitions(topic.partitions().size()).setReplicationFactor((short) 1));
    }

    private static CreatableTopicResult createError(String name, Errors error, String message) {
        return new CreatableTopicResult().setName(name).setErrorCode(error.code()).setErrorMessage(message);
    }

    CompletableFuture<DeleteTopicsResponseData> delete(DeleteTopicsRequest request) {
        List<DeleteTopicState> wanted = new ArrayList<>(request.data().topics()); // v6+: by name or by id
        request.data().topicNames().forEach(n -> wanted.add(new DeleteTopicState().setName(n))); // v0-5
        List<CompletableFuture<DeletableTopicResult>> results = new ArrayList<>();
        for (DeleteTopicState w : wanted) {
            boolean byId = w.name() == null;
            Topic topic = byId ? topics.byId(w.topicId()) : topics.byName(w.name());
            DeletableTopicResult result = new DeletableTopicResult().setName(w.name()).setTopicId(w.topicId());
            if (topic == null) {
                Errors error = byId ? Errors.UNKNOWN_TOPIC_ID : Errors.UNKNOWN_TOPIC_OR_PARTITION;
                results.add(CompletableFuture.completedFuture(result.setErrorCode(error.code())));
                continue;
            }
            result.setName(topic.name()).setTopicId(topic.id());
            results.add(topics.delete(topic).handle((v, failure) -> failure == null
                    ? result.setErrorCode(Errors.NONE.code())
                    : result.setErrorCode(BrokerErrors.of(failure).code())
                            .setErrorMessage(BrokerErrors.unwrap(failure).getMessage())));
        }
        return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).thenApply(v -> {
            DeleteTopicsResponseData response = new DeleteTopicsResponseData();
            results.forEach(r -> response.responses().add(r.join()));
            return response;
        });
    }
}
