package dev.strata.kafka.broker;

import dev.strata.api.BackpressureException;
import dev.strata.api.RecordTooLargeException;
import dev.strata.kafka.broker.GroupOffsets.Committed;
import dev.strata.kafka.broker.Topics.Topic;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.DescribeGroupsResponseData;
import org.apache.kafka.common.message.DescribeGroupsResponseData.DescribedGroup;
import org.apache.kafka.common.message.FindCoordinatorRequestData;
import org.apache.kafka.common.message.FindCoordinatorResponseData;
import org.apache.kafka.common.message.FindCoordinatorResponseData.Coordinator;
import org.apache.kafka.common.message.HeartbeatResponseData;
import org.apache.kafka.common.message.ListGroupsResponseData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetCommitResponseData;
import org.apache.kafka.common.message.OffsetCommitResponseData.OffsetCommitResponsePartition;
import org.apache.kafka.common.message.OffsetCommitResponseData.OffsetCommitResponseTopic;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestGroup;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestTopics;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponseGroup;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponsePartitions;
import org.apache.kafka.common.message.OffsetFetchResponseData.OffsetFetchResponseTopics;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.DescribeGroupsRequest;
import org.apache.kafka.common.requests.FindCoordinatorRequest;
import org.apache.kafka.common.requests.HeartbeatRequest;
import org.apache.kafka.common.requests.JoinGroupRequest;
import org.apache.kafka.common.requests.JoinGroupResponse;
import org.apache.kafka.common.requests.LeaveGroupRequest;
import org.apache.kafka.common.requests.LeaveGroupResponse;
import org.apache.kafka.common.requests.ListGroupsRequest;
import org.apache.kafka.common.requests.OffsetCommitRequest;
import org.apache.kafka.common.requests.OffsetFetchRequest;
import org.apache.kafka.common.requests.OffsetFetchResponse;
import org.apache.kafka.common.requests.SyncGroupRequest;

/**
 * The classic consumer group APIs on the wire: FindCoordinator (this node coordinates every group),
 * JoinGroup, SyncGroup, Heartbeat, LeaveGroup (to the {@link GroupCoordinator}), OffsetCommit and
 * OffsetFetch (checked by the coordinator, stored in {@link GroupOffsets}), DescribeGroups and
 * ListGroups. Adapts every served version with kafka-clients' own request and response classes
 * (topic names up to OffsetCommit/OffsetFetch v9, topic ids from v10).
 *
 * <p>Thread-safe (the coordinator and offsets are). JoinGroup and SyncGroup answers may wait for a
 * rebalance; OffsetCommit answers once the offsets are durable.
 */
final class GroupHandler {
    private static final byte GROUP_KEY_TYPE = 0;

    private final GroupCoordinator coordinator;
    private final GroupOffsets offsets;
    private final Topics topics;
    private final GroupScheduler scheduler;
    private final int offsetMetadataMaxBytes;

    GroupHandler(GroupCoordinator coordinator, GroupOffsets offsets, Topics topics, GroupScheduler scheduler,
                 GroupConfig config) {
        this.coordinator = coordinator;
        this.offsets = offsets;
        this.topics = topics;
        this.scheduler = scheduler;
        this.offsetMetadataMaxBytes = config.offsetMetadataMaxBytes();
        offsets.groups().forEach(coordinator::addEmptyGroup); // groups with offsets exist (Empty) after a restart
    }

    /**
     * Handles a group API request.
     *
     * @param clientId the request header's client id (prefix of new member ids, shown by DescribeGroups)
     * @param local the address the client connected to: the coordinator's address
     * @param remote the client's address (DescribeGroups' client host)
     */
    CompletableFuture<ApiMessage> handle(org.apache.kafka.common.requests.AbstractRequest request, String clientId,
                                         InetSocketAddress local, InetSocketAddress remote) {
        short version = request.version();
        return switch (request.apiKey()) {
            case FIND_COORDINATOR -> done(findCoordinator(((FindCoordinatorRequest) request).data(), version, local));
            case JOIN_GROUP -> coordinator.join(((JoinGroupRequest) request).data(), version,
                            clientId == null ? "" : clientId, "/" + remote.getAddress().getHostAddress())
                    .thenApply(r -> new JoinGroupResponse(r, version).data());
            case SYNC_GROUP -> coordinator.sync(((SyncGroupRequest) request).data()).thenApply(r -> r);
            case HEARTBEAT -> done(new HeartbeatResponseData()
                    .setErrorCode(coordinator.heartbeat(((HeartbeatRequest) request).data()).code()));
            case LEAVE_GROUP -> {
                LeaveGroupRequest leave = (LeaveGroupRequest) request;
                GroupCoordinator.LeaveResult result = coordinator.leave(leave.data().groupId(), leave.members());
                yield done(new LeaveGroupResponse(result.members(), result.error(), 0, version).data());
            }
            case OFFSET_COMMIT -> offsetCommit(((OffsetCommitRequest) request).data(), version);
            case OFFSET_FETCH -> done(offsetFetch((OffsetFetchRequest) request, version));
            case DESCRIBE_GROUPS -> done(describeGroups(((DescribeGroupsRequest) request).data().groups(), version));
            case LIST_GROUPS -> done(listGroups((ListGroupsRequest) request));
            default -> throw new IllegalArgumentException("not a group API: " + request.apiKey());
        };
    }

    private static CompletableFuture<ApiMessage> done(ApiMessage m) {
        return CompletableFuture.completedFuture(m);
    }

    /** This node for group keys; INVALID_REQUEST for transaction and share keys (no such coordinators). */
    private static FindCoordinatorResponseData findCoordinator(FindCoordinatorRequestData request, short version,
                                                               InetSocketAddress local) {
        boolean group = request.keyType() == GROUP_KEY_TYPE;
        Errors error = group ? Errors.NONE : Errors.INVALID_REQUEST;
        String message = group ? null : "this broker coordinates consumer groups only, not key type " + request.keyType();
        int node = group ? KafkaApis.NODE_ID : -1;
        String host = group ? local.getHostString() : "";
        int port = group ? local.getPort() : -1;
        FindCoordinatorResponseData response = new FindCoordinatorResponseData();
        if (version < FindCoordinatorRequest.MIN_BATCHED_VERSION) {
            return response.setErrorCode(error.code()).setErrorMessage(message).setNodeId(node).setHost(host).setPort(port);
        }
        for (String key : request.coordinatorKeys()) {
            Errors keyError = group && key.isEmpty() ? Errors.INVALID_REQUEST : error;
            response.coordinators().add(new Coordinator().setKey(key).setErrorCode(keyError.code())
                    .setErrorMessage(keyError == Errors.NONE ? null : message == null ? "empty group id" : message)
                    .setNodeId(keyError == Errors.NONE ? node : -1).setHost(keyError == Errors.NONE ? host : "")
                    .setPort(keyError == Errors.NONE ? port : -1));
        }
        return response;
    }

    private CompletableFuture<ApiMessage> offsetCommit(OffsetCommitRequestData request, short version) {
        Errors groupError = coordinator.validateOffsetCommit(request.groupId(), request.memberId(),
                request.groupInstanceId(), request.generationIdOrMemberEpoch(), version);
        boolean byId = version >= 10;
        long now = scheduler.nowMs();
        OffsetCommitResponseData response = new OffsetCommitResponseData();
        Map<TopicPartition, Committed> toWrite = new HashMap<>();
        List<OffsetCommitResponsePartition> written = new ArrayList<>();
        for (OffsetCommitRequestData.OffsetCommitRequestTopic t : request.topics()) {
            Topic topic = byId ? topics.byId(t.topicId()) : topics.byName(t.name());
            OffsetCommitResponseTopic rt = new OffsetCommitResponseTopic().setName(t.name()).setTopicId(t.topicId());
            response.topics().add(rt);
            for (OffsetCommitRequestData.OffsetCommitRequestPartition p : t.partitions()) {
                Errors error = groupError;
                if (error == Errors.NONE && topic == null) {
                    error = byId ? Errors.UNKNOWN_TOPIC_ID : Errors.UNKNOWN_TOPIC_OR_PARTITION;
                } else if (error == Errors.NONE
                        && (p.partitionIndex() < 0 || p.partitionIndex() >= topic.partitions().size())) {
                    error = Errors.UNKNOWN_TOPIC_OR_PARTITION;
                } else if (error == Errors.NONE && p.committedMetadata() != null
                        && p.committedMetadata().length() > offsetMetadataMaxBytes) {
                    error = Errors.OFFSET_METADATA_TOO_LARGE;
                }
                OffsetCommitResponsePartition rp = new OffsetCommitResponsePartition()
                        .setPartitionIndex(p.partitionIndex()).setErrorCode(error.code());
                rt.partitions().add(rp);
                if (error == Errors.NONE) {
                    toWrite.put(new TopicPartition(topic.name(), p.partitionIndex()), new Committed(p.committedOffset(),
                            p.committedLeaderEpoch(), p.committedMetadata(), now));
                    written.add(rp);
                }
            }
        }
        return offsets.commit(request.groupId(), toWrite).handle((v, failure) -> {
            if (failure != null) {
                short code = storeError(failure).code();
                written.forEach(rp -> rp.setErrorCode(code));
            }
            return response;
        });
    }

    /** Kafka's mapping of a failed offsets write: retriable when the store pushes back. */
    private static Errors storeError(Throwable failure) {
        Throwable t = BrokerErrors.unwrap(failure);
        if (t instanceof BackpressureException) {
            return Errors.COORDINATOR_NOT_AVAILABLE;
        }
        if (t instanceof RecordTooLargeException) {
            return Errors.INVALID_COMMIT_OFFSET_SIZE;
        }
        return Errors.UNKNOWN_SERVER_ERROR;
    }

    private OffsetFetchResponseData offsetFetch(OffsetFetchRequest request, short version) {
        boolean byId = OffsetFetchRequest.useTopicIds(version);
        List<OffsetFetchResponseGroup> groups = new ArrayList<>();
        for (OffsetFetchRequestGroup g : request.groups()) {
            OffsetFetchResponseGroup rg = new OffsetFetchResponseGroup().setGroupId(g.groupId());
            groups.add(rg);
            if (g.groupId() == null || g.groupId().isEmpty()) {
                rg.setErrorCode(Errors.INVALID_GROUP_ID.code());
                continue;
            }
            Map<TopicPartition, Committed> committed = offsets.committed(g.groupId());
            if (g.topics() == null) { // every committed offset of the group
                Map<String, List<Map.Entry<TopicPartition, Committed>>> byTopic = new TreeMap<>();
                committed.entrySet().forEach(e -> byTopic.computeIfAbsent(e.getKey().topic(), k -> new ArrayList<>()).add(e));
                byTopic.forEach((name, entries) -> {
                    Topic topic = topics.byName(name);
                    if (byId && topic == null) {
                        return; // a deleted topic has no id to report
                    }
                    OffsetFetchResponseTopics rt = new OffsetFetchResponseTopics().setName(name)
                            .setTopicId(topic == null ? Uuid.ZERO_UUID : topic.id());
                    entries.forEach(e -> rt.partitions().add(partition(e.getKey().partition(), e.getValue())));
                    rg.topics().add(rt);
                });
                continue;
            }
            for (OffsetFetchRequestTopics t : g.topics()) {
                Topic topic = byId ? topics.byId(t.topicId()) : null;
                String name = byId ? (topic == null ? null : topic.name()) : t.name();
                OffsetFetchResponseTopics rt = new OffsetFetchResponseTopics().setName(t.name()).setTopicId(t.topicId());
                for (int p : t.partitionIndexes()) {
                    OffsetFetchResponsePartitions rp = partition(p, name == null ? null : committed.get(new TopicPartition(name, p)));
                    if (name == null) {
                        rp.setErrorCode(Errors.UNKNOWN_TOPIC_ID.code());
                    }
                    rt.partitions().add(rp);
                }
                rg.topics().add(rt);
            }
        }
        return new OffsetFetchResponse.Builder(groups).build(version).data();
    }

    private static OffsetFetchResponsePartitions partition(int index, Committed c) {
        return new OffsetFetchResponsePartitions().setPartitionIndex(index)
                .setCommittedOffset(c == null ? OffsetFetchResponse.INVALID_OFFSET : c.offset())
                .setCommittedLeaderEpoch(c == null ? -1 : c.leaderEpoch())
                .setMetadata(c == null || c.metadata() == null ? OffsetFetchResponse.NO_METADATA : c.metadata());
    }

    private DescribeGroupsResponseData describeGroups(List<String> groupIds, short version) {
        DescribeGroupsResponseData response = new DescribeGroupsResponseData();
        for (String id : groupIds) {
            DescribedGroup described = id == null || id.isEmpty() ? null : coordinator.describe(id);
            if (described == null) {
                Errors error = id == null || id.isEmpty() ? Errors.INVALID_GROUP_ID
                        : version >= 6 ? Errors.GROUP_ID_NOT_FOUND : Errors.NONE;
                described = new DescribedGroup().setGroupId(id).setErrorCode(error.code())
                        .setGroupState(ClassicGroup.State.DEAD.display).setProtocolType("").setProtocolData("");
                if (version >= 6 && error != Errors.NONE) {
                    described.setErrorMessage("group " + id + (error == Errors.GROUP_ID_NOT_FOUND ? " not found" : " is invalid"));
                }
            }
            response.groups().add(described);
        }
        return response;
    }

    private ListGroupsResponseData listGroups(ListGroupsRequest request) {
        ListGroupsResponseData response = new ListGroupsResponseData();
        Set<String> types = new HashSet<>();
        request.data().typesFilter().forEach(t -> types.add(t.toLowerCase(Locale.ROOT)));
        if (types.isEmpty() || types.contains("classic")) {
            response.setGroups(coordinator.list(new HashSet<>(request.data().statesFilter())));
        }
        return response;
    }
}
