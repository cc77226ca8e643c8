package dev.strata.kafka.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.DescribeGroupsRequestData;
import org.apache.kafka.common.message.DescribeGroupsResponseData;
import org.apache.kafka.common.message.FindCoordinatorRequestData;
import org.apache.kafka.common.message.FindCoordinatorResponseData;
import org.apache.kafka.common.message.ListGroupsRequestData;
import org.apache.kafka.common.message.ListGroupsResponseData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetCommitRequestData.OffsetCommitRequestPartition;
import org.apache.kafka.common.message.OffsetCommitRequestData.OffsetCommitRequestTopic;
import org.apache.kafka.common.message.OffsetCommitResponseData;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestGroup;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestTopic;
import org.apache.kafka.common.message.OffsetFetchRequestData.OffsetFetchRequestTopics;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.MessageUtil;
import org.apache.kafka.common.requests.AbstractRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Group APIs at old and new versions over a raw connection (requests built from kafka-clients'
 * message classes): the shapes that change between versions (single vs batched coordinator keys,
 * topic names vs ids, top-level vs per-group OffsetFetch, DescribeGroups' GROUP_ID_NOT_FOUND).
 */
@Timeout(120)
class GroupProtocolVersionsTest {
    @TempDir
    Path dir;

    private static ApiMessage send(RawConnection c, ApiKeys api, ApiMessage data, int version) throws Exception {
        ByteBuffer body = MessageUtil.toByteBufferAccessor(data, (short) version).buffer();
        AbstractRequest request = AbstractRequest.parseRequest(api, (short) version, new ByteBufferAccessor(body)).request;
        return c.send(request).data();
    }

    @Test
    void oldAndNewVersionsOfTheGroupApis() throws Exception {
        try (TestBroker broker = new TestBroker(dir, 1); RawConnection c = new RawConnection(broker.port())) {
            Uuid topicId;
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap()))) {
                admin.createTopics(List.of(new NewTopic("t", 2, (short) 1))).all().get();
                topicId = admin.describeTopics(List.of("t")).allTopicNames().get().get("t").topicId();
            }

            FindCoordinatorResponseData single = (FindCoordinatorResponseData) send(c, ApiKeys.FIND_COORDINATOR,
                    new FindCoordinatorRequestData().setKey("g"), 3);
            assertThat(single.errorCode()).isZero();
            assertThat(single.nodeId()).isEqualTo(KafkaApis.NODE_ID);
            assertThat(single.port()).isEqualTo(broker.port());
            FindCoordinatorResponseData batched = (FindCoordinatorResponseData) send(c, ApiKeys.FIND_COORDINATOR,
                    new FindCoordinatorRequestData().setCoordinatorKeys(List.of("g", "h")), 6);
            assertThat(batched.coordinators()).extracting(k -> k.key()).containsExactly("g", "h");
            assertThat(batched.coordinators()).allSatisfy(k -> assertThat(k.port()).isEqualTo(broker.port()));
            FindCoordinatorResponseData transaction = (FindCoordinatorResponseData) send(c, ApiKeys.FIND_COORDINATOR,
                    new FindCoordinatorRequestData().setKeyType((byte) 1).setCoordinatorKeys(List.of("tx")), 6);
            assertThat(Errors.forCode(transaction.coordinators().get(0).errorCode())).isEqualTo(Errors.INVALID_REQUEST);

            // a simple commit (generation -1) by topic name at v2 and by topic id at v10
            OffsetCommitResponseData v2 = (OffsetCommitResponseData) send(c, ApiKeys.OFFSET_COMMIT,
                    new OffsetCommitRequestData().setGroupId("simple").setTopics(List.of(new OffsetCommitRequestTopic()
                            .setName("t").setPartitions(List.of(new OffsetCommitRequestPartition().setPartitionIndex(0)
                                    .setCommittedOffset(42).setCommittedMetadata("meta"))))), 2);
            assertThat(v2.topics().get(0).partitions().get(0).errorCode()).isZero();
            OffsetCommitResponseData v10 = (OffsetCommitResponseData) send(c, ApiKeys.OFFSET_COMMIT,
                    new OffsetCommitRequestData().setGroupId("simple").setTopics(List.of(
                            new OffsetCommitRequestTopic().setTopicId(topicId).setPartitions(List.of(
                                    new OffsetCommitRequestPartition().setPartitionIndex(1).setCommittedOffset(7)
                                            .setCommittedLeaderEpoch(0), // partition 1 exists
                                    new OffsetCommitRequestPartition().setPartitionIndex(5).setCommittedOffset(1))),
                            new OffsetCommitRequestTopic().setTopicId(Uuid.randomUuid()).setPartitions(List.of(
                                    new OffsetCommitRequestPartition().setPartitionIndex(0).setCommittedOffset(1))))), 10);
            assertThat(v10.topics().get(0).topicId()).isEqualTo(topicId);
            assertThat(v10.topics().get(0).partitions()).extracting(p -> Errors.forCode(p.errorCode()))
                    .containsExactly(Errors.NONE, Errors.UNKNOWN_TOPIC_OR_PARTITION);
            assertThat(Errors.forCode(v10.topics().get(1).partitions().get(0).errorCode())).isEqualTo(Errors.UNKNOWN_TOPIC_ID);

            // OffsetFetch v1 (one group, topics by name), v7 (all topics), v8 (groups), v10 (topic ids)
            OffsetFetchResponseData v1 = (OffsetFetchResponseData) send(c, ApiKeys.OFFSET_FETCH,
                    new OffsetFetchRequestData().setGroupId("simple").setTopics(List.of(new OffsetFetchRequestTopic()
                            .setName("t").setPartitionIndexes(List.of(0, 1)))), 1);
            assertThat(v1.topics().get(0).partitions()).extracting(p -> p.committedOffset()).containsExactly(42L, 7L);
            assertThat(v1.topics().get(0).partitions().get(0).metadata()).isEqualTo("meta");
            OffsetFetchResponseData v7 = (OffsetFetchResponseData) send(c, ApiKeys.OFFSET_FETCH,
                    new OffsetFetchRequestData().setGroupId("simple").setTopics(null), 7);
            assertThat(v7.topics().get(0).partitions()).extracting(p -> p.committedOffset()).containsExactlyInAnyOrder(42L, 7L);
            assertThat(v7.topics().get(0).partitions()).extracting(p -> p.committedLeaderEpoch())
                    .containsExactlyInAnyOrder(-1, 0);
            OffsetFetchResponseData v8 = (OffsetFetchResponseData) send(c, ApiKeys.OFFSET_FETCH,
                    new OffsetFetchRequestData().setGroups(List.of(new OffsetFetchRequestGroup().setGroupId("simple")
                            .setTopics(List.of(new OffsetFetchRequestTopics().setName("t").setPartitionIndexes(List.of(0)))),
                            new OffsetFetchRequestGroup().setGroupId("nobody").setTopics(List.of(
                                    new OffsetFetchRequestTopics().setName("t").setPartitionIndexes(List.of(0)))))), 8);
            assertThat(v8.groups().get(0).topics().get(0).partitions().get(0).committedOffset()).isEqualTo(42);
            assertThat(v8.groups().get(1).topics().get(0).partitions().get(0).committedOffset()).isEqualTo(-1);
            OffsetFetchResponseData v10Fetch = (OffsetFetchResponseData) send(c, ApiKeys.OFFSET_FETCH,
                    new OffsetFetchRequestData().setGroups(List.of(new OffsetFetchRequestGroup().setGroupId("simple")
                            .setTopics(List.of(new OffsetFetchRequestTopics().setTopicId(topicId)
                                    .setPartitionIndexes(List.of(1)))))), 10);
            assertThat(v10Fetch.groups().get(0).topics().get(0).topicId()).isEqualTo(topicId);
            assertThat(v10Fetch.groups().get(0).topics().get(0).partitions().get(0).committedOffset()).isEqualTo(7);

            // DescribeGroups: an unknown group is Dead; from v6 with GROUP_ID_NOT_FOUND
            DescribeGroupsResponseData d5 = (DescribeGroupsResponseData) send(c, ApiKeys.DESCRIBE_GROUPS,
                    new DescribeGroupsRequestData().setGroups(List.of("nobody", "simple")), 5);
            assertThat(d5.groups()).extracting(g -> g.groupState()).containsExactly("Dead", "Empty");
            assertThat(d5.groups()).extracting(g -> g.errorCode()).containsExactly((short) 0, (short) 0);
            DescribeGroupsResponseData d6 = (DescribeGroupsResponseData) send(c, ApiKeys.DESCRIBE_GROUPS,
                    new DescribeGroupsRequestData().setGroups(List.of("nobody")), 6);
            assertThat(Errors.forCode(d6.groups().get(0).errorCode())).isEqualTo(Errors.GROUP_ID_NOT_FOUND);

            // ListGroups: v0 lists all; v4 filters states; v5 filters types
            ListGroupsResponseData l0 = (ListGroupsResponseData) send(c, ApiKeys.LIST_GROUPS, new ListGroupsRequestData(), 0);
            assertThat(l0.groups()).extracting(g -> g.groupId()).containsExactly("simple");
            ListGroupsResponseData l4 = (ListGroupsResponseData) send(c, ApiKeys.LIST_GROUPS,
                    new ListGroupsRequestData().setStatesFilter(List.of("Stable")), 4);
            assertThat(l4.groups()).isEmpty();
            ListGroupsResponseData l5 = (ListGroupsResponseData) send(c, ApiKeys.LIST_GROUPS,
                    new ListGroupsRequestData().setTypesFilter(List.of("Classic")), 5);
            assertThat(l5.groups()).extracting(g -> g.groupType()).containsExactly("classic");
            ListGroupsResponseData consumerType = (ListGroupsResponseData) send(c, ApiKeys.LIST_GROUPS,
                    new ListGroupsRequestData().setTypesFilter(List.of("consumer")), 5);
            assertThat(consumerType.groups()).isEmpty();
        }
    }
}
