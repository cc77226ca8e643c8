package dev.strata.kafka.broker;

import dev.strata.kafka.broker.ClassicGroup.Member;
import dev.strata.kafka.broker.ClassicGroup.State;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.DescribeGroupsResponseData.DescribedGroup;
import org.apache.kafka.common.message.DescribeGroupsResponseData.DescribedGroupMember;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupRequestData.MemberIdentity;
import org.apache.kafka.common.message.LeaveGroupResponseData.MemberResponse;
import org.apache.kafka.common.message.ListGroupsResponseData.ListedGroup;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.JoinGroupRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The classic group protocol's state machine for every group (this node coordinates all of them):
 * JoinGroup with its rebalance barrier, SyncGroup, Heartbeat, LeaveGroup, session, join and sync
 * timeouts, and the membership checks of OffsetCommit. It follows Kafka's {@code GroupMetadataManager}
 * (classic part) and {@code ClassicGroup}, with Kafka's error codes.
 *
 * <h2>The rebalance</h2>
 * A member joining, leaving, timing out or changing its protocols moves the group to
 * PreparingRebalance. JoinGroup answers are parked until every known member has sent JoinGroup again
 * (or the rebalance timeout, the largest of the members', expires: members that did not rejoin are
 * removed). Then the generation is incremented, the leader's answer carries every member's
 * protocol metadata, and the group waits in CompletingRebalance for the leader's SyncGroup, which
 * answers every parked SyncGroup with its member's assignment (Stable). The first rebalance of an
 * empty group waits {@link GroupConfig#initialRebalanceDelayMs()} for more members.
 *
 * <h2>Timeouts</h2>
 * Every member has a session timer, reset by each heartbeat (and join and sync answer); a member whose
 * timer expires while it is not waiting in a rebalance is removed and the group rebalances. A member
 * that never answers SyncGroup within the rebalance timeout is removed too. Timers run on the
 * injected {@link GroupScheduler}.
 *
 * <h2>Not durable</h2>
 * Membership lives in memory: after a broker restart every group is empty (its committed offsets are
 * durable, in {@link GroupOffsets}) and members get UNKNOWN_MEMBER_ID and rejoin.
 *
 * <h2>Concurrency</h2>
 * Thread-safe: one lock ({@code this}) guards every group and timer. Answers (futures) are completed
 * while holding it, so their dependent stages must be short and must not call back into the coordinator.
 */
final class GroupCoordinator {
    private static final Logger LOG = LoggerFactory.getLogger(GroupCoordinator.class);

    private final GroupConfig config;
    private final GroupScheduler scheduler;
    private final Map<String, ClassicGroup> groups = new HashMap<>(); // guarded by: this
    private final Map<String, GroupScheduler.Cancellable> timers = new HashMap<>(); // guarded by: this

    GroupCoordinator(GroupConfig config, GroupScheduler scheduler) {
        this.config = config;
        this.scheduler = scheduler;
    }

    /** Makes {@code groupId} known as an Empty group (one with committed offsets, after a restart). */
    synchronized void addEmptyGroup(String groupId) {
        groups.computeIfAbsent(groupId, ClassicGroup::new);
    }

    // ---------------------------------------------------------------------------------------- JoinGroup

    /**
     * JoinGroup: answered at once for errors and MEMBER_ID_REQUIRED, otherwise when the rebalance
     * completes.
     *
     * @param apiVersion the request's version (v4+ requires a known member id for dynamic members)
     */
    synchronized CompletableFuture<JoinGroupResponseData> join(JoinGroupRequestData request, short apiVersion,
                                                               String clientId, String clientHost) {
        CompletableFuture<JoinGroupResponseData> answer = new CompletableFuture<>();
        String memberId = request.memberId();
        if (request.groupId() == null || request.groupId().isEmpty()) {
            return answer(answer, memberId, Errors.INVALID_GROUP_ID);
        }
        if (request.sessionTimeoutMs() < config.minSessionTimeoutMs()
                || request.sessionTimeoutMs() > config.maxSessionTimeoutMs()) {
            return answer(answer, memberId, Errors.INVALID_SESSION_TIMEOUT);
        }
        boolean unknownMember = memberId.equals(JoinGroupRequest.UNKNOWN_MEMBER_ID);
        ClassicGroup group = groups.get(request.groupId());
        if (group == null) {
            if (!unknownMember) {
                return answer(answer, memberId, Errors.UNKNOWN_MEMBER_ID);
            }
            group = new ClassicGroup(request.groupId());
            groups.put(group.groupId, group);
        }
        if (!acceptJoiningMember(group, memberId)) {
            group.remove(memberId);
            return answer(answer, JoinGroupRequest.UNKNOWN_MEMBER_ID, Errors.GROUP_MAX_SIZE_REACHED);
        }
        if (group.is(State.DEAD)) {
            return answer(answer, memberId, Errors.COORDINATOR_NOT_AVAILABLE);
        }
        if (!group.supportsProtocols(request.protocolType(), request.protocols())) {
            return answer(answer, memberId, Errors.INCONSISTENT_GROUP_PROTOCOL);
        }
        if (unknownMember) {
            joinNewMember(group, request, apiVersion, clientId, clientHost, answer);
        } else {
            joinExistingMember(group, request, clientId, clientHost, answer);
        }
        return answer;
    }

    private void joinNewMember(ClassicGroup group, JoinGroupRequestData request, short apiVersion, String clientId,
                               String clientHost, CompletableFuture<JoinGroupResponseData> answer) {
        String instanceId = request.groupInstanceId();
        String newMemberId = (instanceId != null ? instanceId : clientId) + "-" + UUID.randomUUID();
        if (instanceId != null) {
            String existing = group.staticMembers.get(instanceId);
            if (existing != null) {
                replaceStaticMember(group, request, existing, newMemberId, answer);
                return;
            }
        } else if (JoinGroupRequest.requiresKnownMemberId(apiVersion)) {
            // the member must come back with this id; until then it is pending, expired after its session timeout
            group.pendingMembers.add(newMemberId);
            String groupId = group.groupId;
            schedule(heartbeatKey(groupId, newMemberId), request.sessionTimeoutMs(),
                    () -> expireHeartbeat(groupId, newMemberId));
            answer.complete(new JoinGroupResponseData().setMemberId(newMemberId)
                    .setErrorCode(Errors.MEMBER_ID_REQUIRED.code()));
            return;
        }
        addMemberThenRebalance(group, request, newMemberId, clientId, clientHost, answer);
    }

    private void joinExistingMember(ClassicGroup group, JoinGroupRequestData request, String clientId,
                                    String clientHost, CompletableFuture<JoinGroupResponseData> answer) {
        String memberId = request.memberId();
        if (group.pendingMembers.contains(memberId)) {
            addMemberThenRebalance(group, request, memberId, clientId, clientHost, answer);
            return;
        }
        Errors invalid = validateMember(group, memberId, request.groupInstanceId());
        if (invalid != Errors.NONE) {
            answer(answer, memberId, invalid);
            return;
        }
        Member member = group.members.get(memberId);
        switch (group.state) {
            case PREPARING_REBALANCE -> updateMemberThenRebalance(group, member, request, answer);
            case COMPLETING_REBALANCE -> {
                if (member.matches(request.protocols())) { // the member lost its answer: send it again
                    answer.complete(joinAnswer(group, member));
                } else {
                    updateMemberThenRebalance(group, member, request, answer);
                }
            }
            case STABLE -> {
                if (group.isLeader(memberId) || !member.matches(request.protocols())) {
                    // the leader rejoins to trigger a rebalance (e.g. new partitions); others on new protocols
                    updateMemberThenRebalance(group, member, request, answer);
                } else {
                    answer.complete(joinAnswer(group, member));
                }
            }
            default -> answer(answer, memberId, Errors.UNKNOWN_MEMBER_ID); // Empty or Dead: rejoin from scratch
        }
    }

    /**
     * A static member rejoining with a new process: the old member id is fenced (its parked answers get
     * FENCED_INSTANCE_ID), the new one takes its place and assignment, and the group rebalances.
     */
    private void replaceStaticMember(ClassicGroup group, JoinGroupRequestData request, String oldMemberId,
                                     String newMemberId, CompletableFuture<JoinGroupResponseData> answer) {
        Member old = group.members.get(oldMemberId);
        if (old.awaitingJoin != null) {
            old.awaitingJoin.complete(new JoinGroupResponseData().setMemberId(oldMemberId)
                    .setErrorCode(Errors.FENCED_INSTANCE_ID.code()));
        }
        if (old.awaitingSync != null) {
            old.awaitingSync.complete(new SyncGroupResponseData().setErrorCode(Errors.FENCED_INSTANCE_ID.code()));
        }
        cancel(heartbeatKey(group.groupId, oldMemberId));
        boolean wasLeader = group.isLeader(oldMemberId);
        group.members.remove(oldMemberId);
        group.pendingSyncMembers.remove(oldMemberId);
        Member replacement = new Member(newMemberId, old.groupInstanceId, old.clientId, old.clientHost, old.protocolType,
                old.rebalanceTimeoutMs, old.sessionTimeoutMs, old.protocols);
        replacement.assignment = old.assignment;
        group.members.put(newMemberId, replacement);
        group.staticMembers.put(old.groupInstanceId, newMemberId);
        if (wasLeader) {
            group.leaderId = newMemberId;
        }
        updateMemberThenRebalance(group, replacement, request, answer);
    }

    private void addMemberThenRebalance(ClassicGroup group, JoinGroupRequestData request, String memberId,
                                        String clientId, String clientHost,
                                        CompletableFuture<JoinGroupResponseData> answer) {
        Member member = new Member(memberId, request.groupInstanceId(), clientId, clientHost, request.protocolType(),
                request.rebalanceTimeoutMs(), request.sessionTimeoutMs(), request.protocols());
        member.isNew = true;
        if (group.is(State.PREPARING_REBALANCE) && group.previousState == State.EMPTY) {
            group.newMemberAdded = true; // extends the initial delay
        }
        member.awaitingJoin = answer;
        group.add(member);
        // a new member cannot heartbeat before its first answer; bound how long it may wait
        rescheduleHeartbeat(group, member, config.newMemberJoinTimeoutMs());
        maybePrepareRebalanceOrCompleteJoin(group);
    }

    private void updateMemberThenRebalance(ClassicGroup group, Member member, JoinGroupRequestData request,
                                           CompletableFuture<JoinGroupResponseData> answer) {
        member.protocols = request.protocols().duplicate();
        member.rebalanceTimeoutMs = request.rebalanceTimeoutMs();
        member.sessionTimeoutMs = request.sessionTimeoutMs();
        if (member.awaitingJoin != null && member.awaitingJoin != answer) {
            // a second JoinGroup from the same member replaces the first (the client gave up on it)
            member.awaitingJoin.complete(new JoinGroupResponseData().setMemberId(member.memberId)
                    .setErrorCode(Errors.UNKNOWN_MEMBER_ID.code()));
        }
        member.awaitingJoin = answer;
        maybePrepareRebalanceOrCompleteJoin(group);
    }

    private void maybePrepareRebalanceOrCompleteJoin(ClassicGroup group) {
        if (group.canRebalance()) {
            prepareRebalance(group);
        } else {
            maybeCompleteJoinPhase(group);
        }
    }

    private void prepareRebalance(ClassicGroup group) {
        if (group.is(State.COMPLETING_REBALANCE)) { // members waiting in SyncGroup must rejoin
            for (Member m : group.members.values()) {
                m.assignment = new byte[0];
            }
            propagateAssignment(group, Errors.REBALANCE_IN_PROGRESS);
        }
        group.pendingSyncMembers.clear();
        cancel(syncKey(group.groupId));
        boolean initial = group.is(State.EMPTY);
        group.transitionTo(State.PREPARING_REBALANCE);
        String groupId = group.groupId;
        if (initial) {
            int delay = config.initialRebalanceDelayMs();
            int remaining = Math.max(group.rebalanceTimeoutMs() - delay, 0);
            schedule(joinKey(groupId), delay, () -> completeInitialRebalance(groupId, delay, remaining));
        } else if (group.hasAllMembersJoined()) {
            completeJoin(group);
        } else {
            schedule(joinKey(groupId), group.rebalanceTimeoutMs(), () -> completeJoin(groupId));
        }
    }

    private void completeInitialRebalance(String groupId, int delayMs, int remainingMs) {
        ClassicGroup group = groups.get(groupId);
        if (group == null) {
            return;
        }
        if (group.newMemberAdded && remainingMs != 0) {
            group.newMemberAdded = false;
            int nextDelay = Math.min(config.initialRebalanceDelayMs(), remainingMs);
            int nextRemaining = Math.max(remainingMs - delayMs, 0);
            schedule(joinKey(groupId), nextDelay, () -> completeInitialRebalance(groupId, nextDelay, nextRemaining));
        } else {
            completeJoin(group);
        }
    }

    /** Completes the join phase if every member rejoined (never during the initial, delayed rebalance). */
    private void maybeCompleteJoinPhase(ClassicGroup group) {
        if (group.is(State.PREPARING_REBALANCE) && group.previousState != State.EMPTY && group.hasAllMembersJoined()) {
            completeJoin(group);
        }
    }

    private void completeJoin(String groupId) {
        ClassicGroup group = groups.get(groupId);
        if (group != null && group.is(State.PREPARING_REBALANCE)) {
            completeJoin(group);
        }
    }

    /** The end of the join barrier: drops members that did not rejoin, starts the next generation, answers all. */
    private void completeJoin(ClassicGroup group) {
        cancel(joinKey(group.groupId));
        for (Member m : List.copyOf(group.members.values())) {
            if (m.awaitingJoin == null) {
                LOG.info("group {}: member {} did not rejoin within the rebalance timeout; removed", group.groupId, m.memberId);
                group.remove(m.memberId);
                cancel(heartbeatKey(group.groupId, m.memberId));
            }
        }
        if (!group.maybeElectNewJoinedLeader() && !group.members.isEmpty()) {
            String groupId = group.groupId; // nobody rejoined yet: wait another rebalance timeout
            schedule(joinKey(groupId), group.rebalanceTimeoutMs(), () -> completeJoin(groupId));
            return;
        }
        group.initNextGeneration();
        if (group.is(State.EMPTY)) {
            return;
        }
        LOG.info("group {}: generation {} with {} members, protocol {}", group.groupId, group.generationId,
                group.members.size(), group.protocolName);
        for (Member m : group.members.values()) {
            JoinGroupResponseData response = joinAnswer(group, m);
            CompletableFuture<JoinGroupResponseData> parked = m.awaitingJoin;
            m.awaitingJoin = null;
            parked.complete(response);
            rescheduleHeartbeat(group, m, m.sessionTimeoutMs);
            m.isNew = false;
            group.pendingSyncMembers.add(m.memberId);
        }
        String groupId = group.groupId;
        int generation = group.generationId;
        schedule(syncKey(groupId), group.rebalanceTimeoutMs(), () -> expirePendingSync(groupId, generation));
    }

    private static JoinGroupResponseData joinAnswer(ClassicGroup group, Member member) {
        return new JoinGroupResponseData()
                .setMembers(group.isLeader(member.memberId) ? group.memberList() : new ArrayList<>())
                .setMemberId(member.memberId)
                .setGenerationId(group.generationId)
                .setProtocolType(group.protocolType)
                .setProtocolName(group.protocolName)
                .setLeader(group.leaderId)
                .setSkipAssignment(false);
    }

    /** Members that did not send SyncGroup within the rebalance timeout are removed, and the group rebalances. */
    private void expirePendingSync(String groupId, int generation) {
        ClassicGroup group = groups.get(groupId);
        if (group == null || group.generationId != generation || group.pendingSyncMembers.isEmpty()
                || !(group.is(State.COMPLETING_REBALANCE) || group.is(State.STABLE))) {
            return;
        }
        for (String memberId : Set.copyOf(group.pendingSyncMembers)) {
            LOG.info("group {}: member {} sent no SyncGroup within the rebalance timeout; removed", groupId, memberId);
            group.remove(memberId);
            cancel(heartbeatKey(groupId, memberId));
        }
        prepareRebalance(group);
    }

    private boolean acceptJoiningMember(ClassicGroup group, String memberId) {
        Member member = group.members.get(memberId);
        return switch (group.state) {
            case EMPTY, DEAD -> true;
            case PREPARING_REBALANCE -> (member != null && member.awaitingJoin != null)
                    || group.awaitingJoinCount() < config.maxGroupSize();
            case COMPLETING_REBALANCE, STABLE -> member != null || group.members.size() < config.maxGroupSize();
        };
    }

    // ---------------------------------------------------------------------------------------- SyncGroup

    /** SyncGroup: the leader's carries the assignment; followers' wait for it in CompletingRebalance. */
    synchronized CompletableFuture<SyncGroupResponseData> sync(SyncGroupRequestData request) {
        CompletableFuture<SyncGroupResponseData> answer = new CompletableFuture<>();
        if (request.groupId() == null || request.groupId().isEmpty()) {
            answer.complete(new SyncGroupResponseData().setErrorCode(Errors.INVALID_GROUP_ID.code()));
            return answer;
        }
        ClassicGroup group = groups.get(request.groupId());
        if (group == null || group.is(State.EMPTY)) {
            answer.complete(new SyncGroupResponseData().setErrorCode(Errors.UNKNOWN_MEMBER_ID.code()));
            return answer;
        }
        Errors error = group.is(State.DEAD) ? Errors.COORDINATOR_NOT_AVAILABLE
                : validateMember(group, request.memberId(), request.groupInstanceId());
        if (error == Errors.NONE && request.generationId() != group.generationId) {
            error = Errors.ILLEGAL_GENERATION;
        }
        if (error == Errors.NONE && (inconsistent(request.protocolType(), group.protocolType)
                || inconsistent(request.protocolName(), group.protocolName))) {
            error = Errors.INCONSISTENT_GROUP_PROTOCOL;
        }
        if (error != Errors.NONE) {
            answer.complete(new SyncGroupResponseData().setErrorCode(error.code()));
            return answer;
        }
        Member member = group.members.get(request.memberId());
        switch (group.state) {
            case PREPARING_REBALANCE ->
                    answer.complete(new SyncGroupResponseData().setErrorCode(Errors.REBALANCE_IN_PROGRESS.code()));
            case COMPLETING_REBALANCE -> {
                member.awaitingSync = answer;
                removePendingSyncMember(group, member.memberId);
                if (group.isLeader(member.memberId)) {
                    Map<String, byte[]> assignment = new HashMap<>();
                    request.assignments().forEach(a -> assignment.put(a.memberId(), a.assignment()));
                    for (Member m : group.members.values()) {
                        m.assignment = assignment.getOrDefault(m.memberId, new byte[0]);
                    }
                    propagateAssignment(group, Errors.NONE);
                    group.transitionTo(State.STABLE);
                }
            }
            case STABLE -> {
                removePendingSyncMember(group, member.memberId);
                answer.complete(new SyncGroupResponseData().setProtocolType(group.protocolType)
                        .setProtocolName(group.protocolName).setAssignment(member.assignment));
            }
            default -> throw new IllegalStateException("group " + group.groupId + " in state " + group.state);
        }
        return answer;
    }

    private static boolean inconsistent(String requested, String current) {
        return requested != null && !requested.equals(current);
    }

    private void removePendingSyncMember(ClassicGroup group, String memberId) {
        group.pendingSyncMembers.remove(memberId);
        if (group.pendingSyncMembers.isEmpty()) {
            cancel(syncKey(group.groupId));
        }
    }

    /** Answers every parked SyncGroup: its assignment, or {@code error}; restarts their session timers. */
    private void propagateAssignment(ClassicGroup group, Errors error) {
        for (Member m : group.members.values()) {
            if (m.awaitingSync != null) {
                SyncGroupResponseData response = new SyncGroupResponseData().setErrorCode(error.code())
                        .setAssignment(m.assignment);
                if (error == Errors.NONE) {
                    response.setProtocolType(group.protocolType).setProtocolName(group.protocolName);
                }
                CompletableFuture<SyncGroupResponseData> parked = m.awaitingSync;
                m.awaitingSync = null;
                parked.complete(response);
                rescheduleHeartbeat(group, m, m.sessionTimeoutMs);
            }
        }
    }

    // ---------------------------------------------------------------------------------------- Heartbeat

    /** Heartbeat: resets the member's session timer; REBALANCE_IN_PROGRESS tells it to rejoin. */
    synchronized Errors heartbeat(HeartbeatRequestData request) {
        ClassicGroup group = groups.get(request.groupId());
        if (group == null) {
            return Errors.UNKNOWN_MEMBER_ID;
        }
        if (group.is(State.DEAD)) {
            return Errors.COORDINATOR_NOT_AVAILABLE;
        }
        Errors error = validateMember(group, request.memberId(), request.groupInstanceId());
        if (error != Errors.NONE) {
            return error;
        }
        if (request.generationId() != group.generationId) {
            return Errors.ILLEGAL_GENERATION;
        }
        Member member = group.members.get(request.memberId());
        return switch (group.state) {
            case EMPTY -> Errors.UNKNOWN_MEMBER_ID;
            case PREPARING_REBALANCE -> {
                rescheduleHeartbeat(group, member, member.sessionTimeoutMs);
                yield Errors.REBALANCE_IN_PROGRESS;
            }
            default -> {
                rescheduleHeartbeat(group, member, member.sessionTimeoutMs);
                yield Errors.NONE;
            }
        };
    }

    private void expireHeartbeat(String groupId, String memberId) {
        ClassicGroup group = groups.get(groupId);
        if (group == null || group.is(State.DEAD)) {
            return;
        }
        if (group.pendingMembers.remove(memberId)) {
            maybeCompleteAfterRemoval(group);
            return;
        }
        Member member = group.members.get(memberId);
        if (member != null && !member.hasSatisfiedHeartbeat()) {
            LOG.info("group {}: member {} missed its session timeout ({} ms); removed", groupId, memberId,
                    member.sessionTimeoutMs);
            removeMemberAndUpdateGroup(group, member);
        }
    }

    private void removeMemberAndUpdateGroup(ClassicGroup group, Member member) {
        if (member.awaitingJoin != null) { // a new member timed out in a rebalance: let it retry from scratch
            CompletableFuture<JoinGroupResponseData> parked = member.awaitingJoin;
            member.awaitingJoin = null;
            parked.complete(new JoinGroupResponseData().setMemberId(JoinGroupRequest.UNKNOWN_MEMBER_ID)
                    .setErrorCode(Errors.UNKNOWN_MEMBER_ID.code()));
        }
        group.remove(member.memberId);
        cancel(heartbeatKey(group.groupId, member.memberId));
        if (group.is(State.STABLE) || group.is(State.COMPLETING_REBALANCE)) {
            maybePrepareRebalanceOrCompleteJoin(group);
        } else {
            maybeCompleteAfterRemoval(group);
        }
    }

    private void maybeCompleteAfterRemoval(ClassicGroup group) {
        if (group.is(State.PREPARING_REBALANCE) && group.hasAllMembersJoined()) {
            completeJoin(group);
        }
    }

    // ---------------------------------------------------------------------------------------- LeaveGroup

    /**
     * LeaveGroup: removes each named member (by member id, or by group instance id alone) and
     * rebalances. The top-level error is COORDINATOR_NOT_AVAILABLE for a dead group, UNKNOWN_MEMBER_ID
     * for an unknown group, NONE otherwise; each member has its own.
     */
    synchronized LeaveResult leave(String groupId, List<MemberIdentity> leaving) {
        ClassicGroup group = groups.get(groupId);
        if (group == null) {
            return new LeaveResult(Errors.UNKNOWN_MEMBER_ID, List.of());
        }
        if (group.is(State.DEAD)) {
            return new LeaveResult(Errors.COORDINATOR_NOT_AVAILABLE, List.of());
        }
        List<MemberResponse> responses = new ArrayList<>();
        boolean removed = false;
        for (MemberIdentity identity : leaving) {
            MemberResponse response = new MemberResponse().setMemberId(identity.memberId())
                    .setGroupInstanceId(identity.groupInstanceId());
            String memberId = identity.memberId();
            if (JoinGroupRequest.UNKNOWN_MEMBER_ID.equals(memberId)) {
                memberId = identity.groupInstanceId() == null ? null : group.staticMembers.get(identity.groupInstanceId());
                if (memberId == null) {
                    responses.add(response.setErrorCode(Errors.UNKNOWN_MEMBER_ID.code()));
                    continue;
                }
            } else if (group.pendingMembers.remove(memberId)) {
                cancel(heartbeatKey(groupId, memberId));
                responses.add(response);
                removed = true;
                continue;
            } else {
                Errors error = validateMember(group, memberId, identity.groupInstanceId());
                if (error != Errors.NONE) {
                    responses.add(response.setErrorCode(error.code()));
                    continue;
                }
            }
            Member member = group.members.get(memberId);
            cancel(heartbeatKey(groupId, memberId));
            if (member.awaitingJoin != null) {
                CompletableFuture<JoinGroupResponseData> parked = member.awaitingJoin;
                member.awaitingJoin = null;
                parked.complete(new JoinGroupResponseData().setMemberId(JoinGroupRequest.UNKNOWN_MEMBER_ID)
                        .setErrorCode(Errors.UNKNOWN_MEMBER_ID.code()));
            }
            group.remove(memberId);
            LOG.info("group {}: member {} left", groupId, memberId);
            responses.add(response);
            removed = true;
        }
        if (removed) {
            switch (group.state) {
                case STABLE, COMPLETING_REBALANCE -> maybePrepareRebalanceOrCompleteJoin(group);
                case PREPARING_REBALANCE -> maybeCompleteJoinPhase(group);
                default -> { }
            }
        }
        return new LeaveResult(Errors.NONE, responses);
    }

    /** LeaveGroup's outcome: the top-level error and one response per member named. */
    record LeaveResult(Errors error, List<MemberResponse> members) {
    }

    // ---------------------------------------------------------------------------------------- OffsetCommit

    /**
     * Whether an OffsetCommit of this member and generation may be written (Kafka's classic checks). A
     * commit with a negative generation to an unknown group creates it, Empty, as Kafka's "simple" commits do.
     *
     * @param apiVersion the OffsetCommit version: v9+ answers GROUP_ID_NOT_FOUND for an unknown group
     *     with a generation, older ones ILLEGAL_GENERATION
     */
    synchronized Errors validateOffsetCommit(String groupId, String memberId, String groupInstanceId, int generationId,
                                             short apiVersion) {
        if (groupId == null || groupId.isEmpty()) {
            return Errors.INVALID_GROUP_ID;
        }
        ClassicGroup group = groups.get(groupId);
        if (group == null) {
            if (generationId >= 0) {
                return apiVersion >= 9 ? Errors.GROUP_ID_NOT_FOUND : Errors.ILLEGAL_GENERATION;
            }
            groups.put(groupId, new ClassicGroup(groupId));
            return Errors.NONE;
        }
        if (group.is(State.DEAD)) {
            return Errors.COORDINATOR_NOT_AVAILABLE;
        }
        if (generationId < 0 && group.is(State.EMPTY)) {
            return Errors.NONE;
        }
        if (generationId >= 0 || !memberId.isEmpty() || groupInstanceId != null) {
            Errors error = validateMember(group, memberId, groupInstanceId);
            if (error != Errors.NONE) {
                return error;
            }
            if (generationId != group.generationId) {
                return Errors.ILLEGAL_GENERATION;
            }
        } else if (!group.is(State.EMPTY)) {
            return Errors.UNKNOWN_MEMBER_ID; // a commit from outside the group while it has members
        }
        return group.is(State.COMPLETING_REBALANCE) ? Errors.REBALANCE_IN_PROGRESS : Errors.NONE;
    }

    // ---------------------------------------------------------------------------------------- Describe, List

    /** DescribeGroups of one group; {@code null} if the group is unknown. */
    synchronized DescribedGroup describe(String groupId) {
        ClassicGroup group = groups.get(groupId);
        if (group == null) {
            return null;
        }
        boolean stable = group.is(State.STABLE);
        List<DescribedGroupMember> members = new ArrayList<>();
        for (Member m : group.members.values()) {
            DescribedGroupMember d = new DescribedGroupMember().setMemberId(m.memberId)
                    .setGroupInstanceId(m.groupInstanceId).setClientId(m.clientId).setClientHost(m.clientHost);
            if (stable) {
                d.setMemberMetadata(m.metadata(group.protocolName)).setMemberAssignment(m.assignment);
            }
            members.add(d);
        }
        return new DescribedGroup().setGroupId(groupId).setGroupState(group.state.display)
                .setProtocolType(group.protocolType == null ? "" : group.protocolType)
                .setProtocolData(stable ? group.protocolName : "")
                .setMembers(members);
    }

    /**
     * ListGroups: every group whose state (case-insensitive) is in {@code states}, all if it is empty.
     */
    synchronized List<ListedGroup> list(Set<String> states) {
        Set<String> wanted = new HashSet<>();
        states.forEach(s -> wanted.add(s.toLowerCase(Locale.ROOT)));
        List<ListedGroup> listed = new ArrayList<>();
        for (ClassicGroup g : groups.values()) {
            if (wanted.isEmpty() || wanted.contains(g.state.display.toLowerCase(Locale.ROOT))) {
                listed.add(new ListedGroup().setGroupId(g.groupId)
                        .setProtocolType(g.protocolType == null ? "" : g.protocolType)
                        .setGroupState(g.state.display).setGroupType("classic"));
            }
        }
        return listed;
    }

    // ---------------------------------------------------------------------------------------- helpers

    /** UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID (another member id holds the instance id), else NONE. */
    private static Errors validateMember(ClassicGroup group, String memberId, String groupInstanceId) {
        if (groupInstanceId != null) {
            String existing = group.staticMembers.get(groupInstanceId);
            if (existing == null) {
                return Errors.UNKNOWN_MEMBER_ID;
            }
            if (!existing.equals(memberId)) {
                return Errors.FENCED_INSTANCE_ID;
            }
        }
        return group.members.containsKey(memberId) ? Errors.NONE : Errors.UNKNOWN_MEMBER_ID;
    }

    private static CompletableFuture<JoinGroupResponseData> answer(CompletableFuture<JoinGroupResponseData> answer,
                                                                   String memberId, Errors error) {
        answer.complete(new JoinGroupResponseData().setMemberId(memberId).setErrorCode(error.code()));
        return answer;
    }

    private void rescheduleHeartbeat(ClassicGroup group, Member member, long timeoutMs) {
        String groupId = group.groupId;
        String memberId = member.memberId;
        schedule(heartbeatKey(groupId, memberId), timeoutMs, () -> expireHeartbeat(groupId, memberId));
    }

    private static String heartbeatKey(String groupId, String memberId) {
        return "heartbeat " + groupId + " " + memberId;
    }

    private static String joinKey(String groupId) {
        return "join " + groupId;
    }

    private static String syncKey(String groupId) {
        return "sync " + groupId;
    }

    /** Runs {@code action} under the lock after {@code delayMs}, replacing the timer of {@code key}. */
    private void schedule(String key, long delayMs, Runnable action) {
        cancel(key);
        GroupScheduler.Cancellable[] self = new GroupScheduler.Cancellable[1];
        GroupScheduler.Cancellable handle = scheduler.schedule(delayMs, () -> {
            synchronized (this) {
                if (timers.get(key) != self[0]) {
                    return; // cancelled or replaced after it was due
                }
                timers.remove(key);
                try {
                    action.run();
                } catch (RuntimeException e) {
                    LOG.error("group timer {} failed", key, e);
                }
            }
        });
        self[0] = handle;
        timers.put(key, handle);
    }

    private void cancel(String key) {
        GroupScheduler.Cancellable previous = timers.remove(key);
        if (previous != null) {
            previous.cancel();
        }
    }
}
