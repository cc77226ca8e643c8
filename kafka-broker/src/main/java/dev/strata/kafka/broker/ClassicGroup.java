package dev.strata.kafka.broker;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.JoinGroupRequestData.JoinGroupRequestProtocol;
import org.apache.kafka.common.message.JoinGroupRequestData.JoinGroupRequestProtocolCollection;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.SyncGroupResponseData;

/**
 * One classic consumer group's membership: state, generation, members with their protocols and
 * assignments, the leader, and the members' parked JoinGroup and SyncGroup answers. The rules follow
 * Kafka's {@code ClassicGroup} (group-coordinator module).
 *
 * <p>Not thread-safe: only the {@link GroupCoordinator} touches it, under its lock.
 */
final class ClassicGroup {

    /** Kafka's classic group states, with the names DescribeGroups and ListGroups report. */
    enum State {
        EMPTY("Empty"), PREPARING_REBALANCE("PreparingRebalance"), COMPLETING_REBALANCE("CompletingRebalance"),
        STABLE("Stable"), DEAD("Dead");

        final String display;

        State(String display) {
            this.display = display;
        }
    }

    /** A member; its parked answers are completed by the coordinator. */
    static final class Member {
        final String memberId;
        final String groupInstanceId; // null for a dynamic member
        final String clientId;
        final String clientHost;
        final String protocolType;
        int rebalanceTimeoutMs;
        int sessionTimeoutMs;
        JoinGroupRequestProtocolCollection protocols;
        byte[] assignment = new byte[0];
        CompletableFuture<JoinGroupResponseData> awaitingJoin;
        CompletableFuture<SyncGroupResponseData> awaitingSync;
        /** Joined but not yet answered once: its session timer is the new-member join timeout. */
        boolean isNew;

        Member(String memberId, String groupInstanceId, String clientId, String clientHost, String protocolType,
               int rebalanceTimeoutMs, int sessionTimeoutMs, JoinGroupRequestProtocolCollection protocols) {
            this.memberId = memberId;
            this.groupInstanceId = groupInstanceId;
            this.clientId = clientId;
            this.clientHost = clientHost;
            this.protocolType = protocolType;
            this.rebalanceTimeoutMs = rebalanceTimeoutMs;
            this.sessionTimeoutMs = sessionTimeoutMs;
            this.protocols = protocols.duplicate();
        }

        /** A member waiting in a rebalance counts as alive; a new member must be answered in time. */
        boolean hasSatisfiedHeartbeat() {
            return !isNew && (awaitingJoin != null || awaitingSync != null);
        }

        boolean matches(JoinGroupRequestProtocolCollection other) {
            return protocols.equals(other);
        }

        /** The member's metadata for {@code protocol}, or an empty array. */
        byte[] metadata(String protocol) {
            JoinGroupRequestProtocol p = protocols.find(protocol);
            return p == null ? new byte[0] : p.metadata();
        }

        /** The first of this member's protocols (in its order of preference) that is a candidate. */
        String vote(Set<String> candidates) {
            for (JoinGroupRequestProtocol p : protocols) {
                if (candidates.contains(p.name())) {
                    return p.name();
                }
            }
            throw new IllegalStateException("member " + memberId + " supports none of " + candidates);
        }
    }

    final String groupId;
    State state = State.EMPTY;
    State previousState = State.EMPTY;
    int generationId;
    String protocolType; // null until the first member joins
    String protocolName; // null unless a generation with members is running
    String leaderId;
    final Map<String, Member> members = new LinkedHashMap<>();
    final Set<String> pendingMembers = new HashSet<>(); // got MEMBER_ID_REQUIRED, not joined yet
    final Set<String> pendingSyncMembers = new HashSet<>();
    final Map<String, String> staticMembers = new HashMap<>(); // group.instance.id -> member id
    /** A new member joined during the initial (delayed) rebalance: extend the delay once more. */
    boolean newMemberAdded;

    ClassicGroup(String groupId) {
        this.groupId = groupId;
    }

    boolean is(State s) {
        return state == s;
    }

    void transitionTo(State next) {
        previousState = state;
        state = next;
    }

    /** PreparingRebalance may follow Stable, CompletingRebalance and Empty (Kafka's valid transitions). */
    boolean canRebalance() {
        return state == State.STABLE || state == State.COMPLETING_REBALANCE || state == State.EMPTY;
    }

    boolean isLeader(String memberId) {
        return memberId.equals(leaderId);
    }

    int awaitingJoinCount() {
        int n = 0;
        for (Member m : members.values()) {
            if (m.awaitingJoin != null) {
                n++;
            }
        }
        return n;
    }

    boolean hasAllMembersJoined() {
        return awaitingJoinCount() == members.size() && pendingMembers.isEmpty();
    }

    /** The largest rebalance timeout of the members: how long a rebalance waits for them. */
    int rebalanceTimeoutMs() {
        int max = 0;
        for (Member m : members.values()) {
            max = Math.max(max, m.rebalanceTimeoutMs);
        }
        return max;
    }

    /**
     * Whether a member with {@code type} and {@code protocols} may join: the first member of an empty
     * group needs a type and a protocol; later ones the group's type and a protocol every member supports.
     */
    boolean supportsProtocols(String type, JoinGroupRequestProtocolCollection protocols) {
        if (state == State.EMPTY) {
            return !type.isEmpty() && !protocols.isEmpty();
        }
        if (!type.equals(protocolType)) {
            return false;
        }
        Set<String> candidates = candidateProtocols();
        for (JoinGroupRequestProtocol p : protocols) {
            if (candidates.contains(p.name())) {
                return true;
            }
        }
        return false;
    }

    /** Protocols every member supports. */
    private Set<String> candidateProtocols() {
        Map<String, Integer> count = new HashMap<>();
        for (Member m : members.values()) {
            for (JoinGroupRequestProtocol p : m.protocols) {
                count.merge(p.name(), 1, Integer::sum);
            }
        }
        Set<String> candidates = new HashSet<>();
        count.forEach((name, n) -> {
            if (n == members.size()) {
                candidates.add(name);
            }
        });
        return candidates;
    }

    /** The candidate protocol most members prefer (Kafka's vote). */
    String selectProtocol() {
        Set<String> candidates = candidateProtocols();
        Map<String, Integer> votes = new HashMap<>();
        for (Member m : members.values()) {
            votes.merge(m.vote(candidates), 1, Integer::sum);
        }
        return votes.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
    }

    void add(Member member) {
        if (members.isEmpty()) {
            protocolType = member.protocolType;
        }
        if (leaderId == null) {
            leaderId = member.memberId;
        }
        if (member.groupInstanceId != null) {
            staticMembers.put(member.groupInstanceId, member.memberId);
        }
        members.put(member.memberId, member);
        pendingMembers.remove(member.memberId);
    }

    /** Removes a member or pending member; a removed leader is replaced by the oldest remaining member. */
    void remove(String memberId) {
        Member removed = members.remove(memberId);
        if (removed != null && removed.groupInstanceId != null) {
            staticMembers.remove(removed.groupInstanceId);
        }
        if (isLeader(memberId)) {
            leaderId = members.isEmpty() ? null : members.keySet().iterator().next();
        }
        pendingMembers.remove(memberId);
        pendingSyncMembers.remove(memberId);
    }

    /**
     * Makes sure the leader is a member that rejoined: keeps it if it did, otherwise picks the first
     * that did. False if no member rejoined.
     */
    boolean maybeElectNewJoinedLeader() {
        if (leaderId == null) {
            return false;
        }
        if (members.get(leaderId).awaitingJoin != null) {
            return true;
        }
        for (Member m : members.values()) {
            if (m.awaitingJoin != null) {
                leaderId = m.memberId;
                return true;
            }
        }
        return false;
    }

    /** Next generation: CompletingRebalance with a selected protocol, or Empty without members. */
    void initNextGeneration() {
        generationId++;
        if (!members.isEmpty()) {
            protocolName = selectProtocol();
            transitionTo(State.COMPLETING_REBALANCE);
        } else {
            protocolName = null;
            transitionTo(State.EMPTY);
        }
        pendingSyncMembers.clear();
    }

    /** The member list the leader receives: each member's metadata for the selected protocol. */
    List<JoinGroupResponseData.JoinGroupResponseMember> memberList() {
        List<JoinGroupResponseData.JoinGroupResponseMember> list = new ArrayList<>();
        for (Member m : members.values()) {
            list.add(new JoinGroupResponseData.JoinGroupResponseMember().setMemberId(m.memberId)
                    .setGroupInstanceId(m.groupInstanceId).setMetadata(m.metadata(protocolName)));
        }
        return list;
    }
}
