package dev.strata.kafka.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.apache.kafka.common.message.DescribeGroupsResponseData.DescribedGroup;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData.JoinGroupRequestProtocol;
import org.apache.kafka.common.message.JoinGroupRequestData.JoinGroupRequestProtocolCollection;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupRequestData.MemberIdentity;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupRequestData.SyncGroupRequestAssignment;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.Test;

/** The classic group state machine on a manual clock: no sleeps, every timeout fired by hand. */
class GroupCoordinatorTest {
    private static final String GROUP = "g";
    private static final int SESSION_MS = 10_000;
    private static final int REBALANCE_MS = 60_000;
    private static final short JOIN_VERSION = 9;

    private final ManualScheduler clock = new ManualScheduler();
    private final GroupConfig config = GroupConfig.defaults(); // initial delay 3 s
    private final GroupCoordinator coordinator = new GroupCoordinator(config, clock);

    private static JoinGroupRequestProtocolCollection protocols(String metadata) {
        JoinGroupRequestProtocolCollection c = new JoinGroupRequestProtocolCollection();
        c.add(new JoinGroupRequestProtocol().setName("range").setMetadata(metadata.getBytes(StandardCharsets.UTF_8)));
        return c;
    }

    private CompletableFuture<JoinGroupResponseData> join(String memberId, String metadata) {
        return coordinator.join(new JoinGroupRequestData().setGroupId(GROUP).setMemberId(memberId)
                .setSessionTimeoutMs(SESSION_MS).setRebalanceTimeoutMs(REBALANCE_MS).setProtocolType("consumer")
                .setProtocols(protocols(metadata)), JOIN_VERSION, "client", "/127.0.0.1");
    }

    /** First JoinGroup of a new member (v4+): MEMBER_ID_REQUIRED with the id to use, then the real join. */
    private CompletableFuture<JoinGroupResponseData> newMember(String metadata) {
        JoinGroupResponseData first = join("", metadata).join();
        assertThat(Errors.forCode(first.errorCode())).isEqualTo(Errors.MEMBER_ID_REQUIRED);
        assertThat(first.memberId()).startsWith("client-");
        return join(first.memberId(), metadata);
    }

    private CompletableFuture<SyncGroupResponseData> sync(String memberId, int generation, Map<String, String> assignment) {
        SyncGroupRequestData request = new SyncGroupRequestData().setGroupId(GROUP).setMemberId(memberId)
                .setGenerationId(generation).setProtocolType("consumer").setProtocolName("range");
        assignment.forEach((m, a) -> request.assignments().add(new SyncGroupRequestAssignment().setMemberId(m)
                .setAssignment(a.getBytes(StandardCharsets.UTF_8))));
        return coordinator.sync(request);
    }

    private Errors heartbeat(String memberId, int generation) {
        return coordinator.heartbeat(new HeartbeatRequestData().setGroupId(GROUP).setMemberId(memberId)
                .setGenerationId(generation));
    }

    private String state() {
        return coordinator.describe(GROUP).groupState();
    }

    @Test
    void joinBarrierWaitsForAllThreeMembersThenTheLeaderGetsTheMemberList() {
        List<CompletableFuture<JoinGroupResponseData>> joins = List.of(newMember("m-a"), newMember("m-b"), newMember("m-c"));
        assertThat(state()).isEqualTo("PreparingRebalance");

        clock.advance(config.initialRebalanceDelayMs()); // new members arrived during the delay: it is extended once
        joins.forEach(f -> assertThat(f).isNotDone());
        clock.advance(config.initialRebalanceDelayMs());
        List<JoinGroupResponseData> answers = joins.stream().map(CompletableFuture::join).toList();

        answers.forEach(a -> {
            assertThat(Errors.forCode(a.errorCode())).isEqualTo(Errors.NONE);
            assertThat(a.generationId()).isEqualTo(1);
            assertThat(a.protocolName()).isEqualTo("range");
            assertThat(a.leader()).isEqualTo(answers.get(0).memberId());
        });
        assertThat(answers.get(0).members()).extracting(m -> new String(m.metadata(), StandardCharsets.UTF_8))
                .containsExactly("m-a", "m-b", "m-c");
        assertThat(answers.get(0).members()).extracting(m -> m.memberId())
                .containsExactlyElementsOf(answers.stream().map(JoinGroupResponseData::memberId).toList());
        assertThat(answers.get(1).members()).isEmpty();
        assertThat(answers.get(2).members()).isEmpty();
        assertThat(state()).isEqualTo("CompletingRebalance");
    }

    @Test
    void syncGroupWaitsForTheLeadersAssignment() {
        List<CompletableFuture<JoinGroupResponseData>> joins = List.of(newMember("m-a"), newMember("m-b"), newMember("m-c"));
        clock.advance(2L * config.initialRebalanceDelayMs());
        List<String> ids = joins.stream().map(f -> f.join().memberId()).toList();

        CompletableFuture<SyncGroupResponseData> followerB = sync(ids.get(1), 1, Map.of());
        CompletableFuture<SyncGroupResponseData> followerC = sync(ids.get(2), 1, Map.of());
        assertThat(followerB).isNotDone();
        assertThat(followerC).isNotDone();
        // a heartbeat while waiting for the assignment is fine
        assertThat(heartbeat(ids.get(1), 1)).isEqualTo(Errors.NONE);

        SyncGroupResponseData leader = sync(ids.get(0), 1, Map.of(ids.get(0), "p0,p1", ids.get(1), "p2,p3",
                ids.get(2), "p4,p5")).join();
        assertThat(new String(leader.assignment(), StandardCharsets.UTF_8)).isEqualTo("p0,p1");
        assertThat(new String(followerB.join().assignment(), StandardCharsets.UTF_8)).isEqualTo("p2,p3");
        assertThat(new String(followerC.join().assignment(), StandardCharsets.UTF_8)).isEqualTo("p4,p5");
        assertThat(followerC.join().protocolName()).isEqualTo("range");
        assertThat(state()).isEqualTo("Stable");
        DescribedGroup described = coordinator.describe(GROUP);
        assertThat(described.protocolData()).isEqualTo("range");
        assertThat(described.members()).extracting(m -> new String(m.memberAssignment(), StandardCharsets.UTF_8))
                .containsExactly("p0,p1", "p2,p3", "p4,p5");

        // a member that lost its SyncGroup answer gets its assignment again in Stable
        assertThat(new String(sync(ids.get(1), 1, Map.of()).join().assignment(), StandardCharsets.UTF_8)).isEqualTo("p2,p3");
    }

    private List<String> stable() {
        List<CompletableFuture<JoinGroupResponseData>> joins = List.of(newMember("m-a"), newMember("m-b"), newMember("m-c"));
        clock.advance(2L * config.initialRebalanceDelayMs());
        List<String> ids = joins.stream().map(f -> f.join().memberId()).toList();
        List<CompletableFuture<SyncGroupResponseData>> syncs = List.of(sync(ids.get(1), 1, Map.of()),
                sync(ids.get(2), 1, Map.of()), sync(ids.get(0), 1, Map.of()));
        syncs.forEach(s -> assertThat(Errors.forCode(s.join().errorCode())).isEqualTo(Errors.NONE));
        assertThat(state()).isEqualTo("Stable");
        return ids;
    }

    @Test
    void aMemberThatStopsHeartbeatingIsRemovedAndTheOthersRebalance() {
        List<String> ids = stable();
        String a = ids.get(0);
        String b = ids.get(1);
        for (int i = 0; i < 3; i++) { // a and b heartbeat every 3 s; c is silent
            clock.advance(3_000);
            assertThat(heartbeat(a, 1)).isEqualTo(Errors.NONE);
            assertThat(heartbeat(b, 1)).isEqualTo(Errors.NONE);
        }
        assertThat(state()).isEqualTo("Stable"); // 9 s since c's last sign of life: its 10 s session still runs
        clock.advance(3_000);
        assertThat(state()).isEqualTo("PreparingRebalance");
        assertThat(coordinator.describe(GROUP).members()).extracting(m -> m.memberId()).containsExactly(a, b);
        assertThat(heartbeat(ids.get(2), 1)).isEqualTo(Errors.UNKNOWN_MEMBER_ID);
        assertThat(heartbeat(a, 1)).isEqualTo(Errors.REBALANCE_IN_PROGRESS);

        CompletableFuture<JoinGroupResponseData> rejoinA = join(a, "m-a");
        assertThat(rejoinA).isNotDone(); // b has not rejoined yet
        CompletableFuture<JoinGroupResponseData> rejoinB = join(b, "m-b");
        // all remaining members rejoined: the barrier opens without waiting for a timeout
        assertThat(rejoinA.join().generationId()).isEqualTo(2);
        assertThat(rejoinB.join().generationId()).isEqualTo(2);
        assertThat(rejoinA.join().members()).hasSize(2);
        assertThat(heartbeat(a, 1)).isEqualTo(Errors.ILLEGAL_GENERATION);
    }

    @Test
    void aMemberThatDoesNotRejoinIsDroppedWhenTheRebalanceTimeoutExpires() {
        List<String> ids = stable();
        CompletableFuture<JoinGroupResponseData> leaderRejoins = join(ids.get(0), "m-a"); // the leader starts a rebalance
        assertThat(state()).isEqualTo("PreparingRebalance");
        CompletableFuture<JoinGroupResponseData> b = join(ids.get(1), "m-b");
        for (int t = 0; t < REBALANCE_MS - 3_000; t += 3_000) { // c keeps heartbeating but never rejoins
            clock.advance(3_000);
            assertThat(heartbeat(ids.get(2), 1)).isEqualTo(Errors.REBALANCE_IN_PROGRESS);
        }
        assertThat(leaderRejoins).isNotDone();
        clock.advance(3_000);
        assertThat(leaderRejoins.join().generationId()).isEqualTo(2);
        assertThat(leaderRejoins.join().members()).extracting(m -> m.memberId()).containsExactly(ids.get(0), ids.get(1));
        assertThat(b.join().generationId()).isEqualTo(2);
        assertThat(heartbeat(ids.get(2), 1)).isEqualTo(Errors.UNKNOWN_MEMBER_ID);
    }

    @Test
    void followersThatNeverSyncAreRemovedAfterTheRebalanceTimeout() {
        List<CompletableFuture<JoinGroupResponseData>> joins = List.of(newMember("m-a"), newMember("m-b"));
        clock.advance(2L * config.initialRebalanceDelayMs());
        List<String> ids = joins.stream().map(f -> f.join().memberId()).toList();
        CompletableFuture<SyncGroupResponseData> leader = sync(ids.get(0), 1, Map.of(ids.get(0), "x"));
        assertThat(leader.join().errorCode()).isZero();
        for (int t = 0; t < REBALANCE_MS; t += 3_000) { // b heartbeats but never sends SyncGroup
            clock.advance(3_000);
            heartbeat(ids.get(0), 1);
            heartbeat(ids.get(1), 1);
        }
        assertThat(coordinator.describe(GROUP).members()).extracting(m -> m.memberId()).containsExactly(ids.get(0));
        assertThat(state()).isEqualTo("PreparingRebalance");
    }

    @Test
    void generationAndMemberChecksAnswerKafkasErrorCodes() {
        List<String> ids = stable();
        String a = ids.get(0);
        assertThat(heartbeat(a, 0)).isEqualTo(Errors.ILLEGAL_GENERATION);
        assertThat(heartbeat("nobody", 1)).isEqualTo(Errors.UNKNOWN_MEMBER_ID);
        assertThat(Errors.forCode(sync(a, 7, Map.of()).join().errorCode())).isEqualTo(Errors.ILLEGAL_GENERATION);
        assertThat(Errors.forCode(sync("nobody", 1, Map.of()).join().errorCode())).isEqualTo(Errors.UNKNOWN_MEMBER_ID);
        assertThat(Errors.forCode(join("nobody", "m").join().errorCode())).isEqualTo(Errors.UNKNOWN_MEMBER_ID);
        assertThat(coordinator.heartbeat(new HeartbeatRequestData().setGroupId("unknown").setMemberId(a)
                .setGenerationId(1))).isEqualTo(Errors.UNKNOWN_MEMBER_ID);

        // OffsetCommit: generation and member checks
        assertThat(coordinator.validateOffsetCommit(GROUP, a, null, 1, (short) 9)).isEqualTo(Errors.NONE);
        assertThat(coordinator.validateOffsetCommit(GROUP, a, null, 0, (short) 9)).isEqualTo(Errors.ILLEGAL_GENERATION);
        assertThat(coordinator.validateOffsetCommit(GROUP, "nobody", null, 1, (short) 9)).isEqualTo(Errors.UNKNOWN_MEMBER_ID);
        assertThat(coordinator.validateOffsetCommit(GROUP, "", null, -1, (short) 9)).isEqualTo(Errors.UNKNOWN_MEMBER_ID);
        assertThat(coordinator.validateOffsetCommit("other", "m", null, 3, (short) 9)).isEqualTo(Errors.GROUP_ID_NOT_FOUND);
        assertThat(coordinator.validateOffsetCommit("other", "m", null, 3, (short) 8)).isEqualTo(Errors.ILLEGAL_GENERATION);
        assertThat(coordinator.validateOffsetCommit("other", "", null, -1, (short) 9)).isEqualTo(Errors.NONE);
        assertThat(coordinator.describe("other").groupState()).isEqualTo("Empty");

        // a rebalance: commits of the current generation are still accepted while members rejoin
        CompletableFuture<JoinGroupResponseData> rejoinA = join(a, "m-a");
        assertThat(coordinator.validateOffsetCommit(GROUP, ids.get(1), null, 1, (short) 9)).isEqualTo(Errors.NONE);
        assertThat(Errors.forCode(sync(ids.get(1), 1, Map.of()).join().errorCode())).isEqualTo(Errors.REBALANCE_IN_PROGRESS);
        join(ids.get(1), "m-b");
        join(ids.get(2), "m-c");
        assertThat(rejoinA.join().generationId()).isEqualTo(2);
        // in CompletingRebalance a commit must wait for the new assignment
        assertThat(coordinator.validateOffsetCommit(GROUP, a, null, 2, (short) 9)).isEqualTo(Errors.REBALANCE_IN_PROGRESS);
    }

    @Test
    void joinValidatesSessionTimeoutGroupIdAndProtocols() {
        JoinGroupRequestData request = new JoinGroupRequestData().setGroupId(GROUP).setMemberId("")
                .setSessionTimeoutMs(1_000).setRebalanceTimeoutMs(REBALANCE_MS).setProtocolType("consumer")
                .setProtocols(protocols("m"));
        assertThat(Errors.forCode(coordinator.join(request, JOIN_VERSION, "c", "h").join().errorCode()))
                .isEqualTo(Errors.INVALID_SESSION_TIMEOUT);
        assertThat(Errors.forCode(coordinator.join(request.duplicate().setSessionTimeoutMs(SESSION_MS).setGroupId(""),
                JOIN_VERSION, "c", "h").join().errorCode())).isEqualTo(Errors.INVALID_GROUP_ID);
        List<String> ids = stable();
        JoinGroupRequestProtocolCollection other = new JoinGroupRequestProtocolCollection();
        other.add(new JoinGroupRequestProtocol().setName("sticky").setMetadata(new byte[0]));
        assertThat(Errors.forCode(coordinator.join(request.duplicate().setSessionTimeoutMs(SESSION_MS).setProtocols(other),
                JOIN_VERSION, "c", "h").join().errorCode())).isEqualTo(Errors.INCONSISTENT_GROUP_PROTOCOL);
        assertThat(ids).hasSize(3);
    }

    @Test
    void aPendingMemberThatNeverRejoinsExpiresAfterItsSessionTimeout() {
        JoinGroupResponseData first = join("", "m").join();
        assertThat(Errors.forCode(first.errorCode())).isEqualTo(Errors.MEMBER_ID_REQUIRED);
        clock.advance(SESSION_MS);
        assertThat(Errors.forCode(join(first.memberId(), "m").join().errorCode())).isEqualTo(Errors.UNKNOWN_MEMBER_ID);
    }

    @Test
    void leavingMembersRebalanceTheRestAndTheLastOneEmptiesTheGroup() {
        List<String> ids = stable();
        GroupCoordinator.LeaveResult left = coordinator.leave(GROUP, List.of(new MemberIdentity().setMemberId(ids.get(2)),
                new MemberIdentity().setMemberId("nobody")));
        assertThat(left.error()).isEqualTo(Errors.NONE);
        assertThat(left.members()).extracting(m -> Errors.forCode(m.errorCode()))
                .containsExactly(Errors.NONE, Errors.UNKNOWN_MEMBER_ID);
        assertThat(state()).isEqualTo("PreparingRebalance");
        CompletableFuture<JoinGroupResponseData> a = join(ids.get(0), "m-a");
        CompletableFuture<JoinGroupResponseData> b = join(ids.get(1), "m-b");
        assertThat(a.join().generationId()).isEqualTo(2);
        assertThat(b.join().generationId()).isEqualTo(2);
        sync(ids.get(0), 2, Map.of()).join();
        sync(ids.get(1), 2, Map.of()).join();

        coordinator.leave(GROUP, List.of(new MemberIdentity().setMemberId(ids.get(0)),
                new MemberIdentity().setMemberId(ids.get(1))));
        assertThat(state()).isEqualTo("Empty");
        assertThat(coordinator.list(Set.of("empty")).stream().map(g -> g.groupId()).collect(Collectors.toSet()))
                .containsExactly(GROUP);
        assertThat(coordinator.list(Set.of("stable"))).isEmpty();
        assertThat(coordinator.leave("unknown", List.of(new MemberIdentity().setMemberId("x"))).error())
                .isEqualTo(Errors.UNKNOWN_MEMBER_ID);
    }

    @Test
    void aRestartedStaticMemberFencesItsOldMemberId() {
        JoinGroupRequestData request = new JoinGroupRequestData().setGroupId(GROUP).setMemberId("")
                .setGroupInstanceId("instance-1").setSessionTimeoutMs(SESSION_MS).setRebalanceTimeoutMs(REBALANCE_MS)
                .setProtocolType("consumer").setProtocols(protocols("m"));
        CompletableFuture<JoinGroupResponseData> first = coordinator.join(request, JOIN_VERSION, "c", "h");
        clock.advance(config.initialRebalanceDelayMs());
        String oldId = first.join().memberId();
        assertThat(oldId).startsWith("instance-1-");
        sync(oldId, 1, Map.of(oldId, "all")).join();

        CompletableFuture<JoinGroupResponseData> restarted = coordinator.join(request.duplicate(), JOIN_VERSION, "c", "h");
        String newId = restarted.join().memberId();
        assertThat(newId).isNotEqualTo(oldId);
        assertThat(coordinator.heartbeat(new HeartbeatRequestData().setGroupId(GROUP).setMemberId(oldId)
                .setGroupInstanceId("instance-1").setGenerationId(2))).isEqualTo(Errors.FENCED_INSTANCE_ID);
    }
}
