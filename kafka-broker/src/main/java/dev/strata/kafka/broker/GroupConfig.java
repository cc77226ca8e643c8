package dev.strata.kafka.broker;

/**
 * Settings of the classic group coordinator, named after Kafka's broker settings; immutable.
 *
 * @param minSessionTimeoutMs {@code group.min.session.timeout.ms}: smallest session timeout a member may ask for
 * @param maxSessionTimeoutMs {@code group.max.session.timeout.ms}: largest session timeout a member may ask for
 * @param initialRebalanceDelayMs {@code group.initial.rebalance.delay.ms}: how long the first rebalance of an
 *     empty group waits for more members (extended by each new member, up to the rebalance timeout)
 * @param newMemberJoinTimeoutMs how long a new member's JoinGroup may wait before the member is dropped
 *     (Kafka's {@code GroupCoordinatorConfig.CLASSIC_GROUP_NEW_MEMBER_JOIN_TIMEOUT_MS}, 5 minutes)
 * @param maxGroupSize {@code group.max.size}
 * @param offsetMetadataMaxBytes {@code offset.metadata.max.bytes}: longest commit metadata string
 */
record GroupConfig(int minSessionTimeoutMs, int maxSessionTimeoutMs, int initialRebalanceDelayMs,
                   int newMemberJoinTimeoutMs, int maxGroupSize, int offsetMetadataMaxBytes) {

    GroupConfig {
        if (minSessionTimeoutMs < 0 || maxSessionTimeoutMs < minSessionTimeoutMs) {
            throw new IllegalArgumentException("session timeout bounds must satisfy 0 <= min <= max, got ["
                    + minSessionTimeoutMs + ", " + maxSessionTimeoutMs + "]");
        }
        if (initialRebalanceDelayMs < 0 || newMemberJoinTimeoutMs < 0 || maxGroupSize < 1 || offsetMetadataMaxBytes < 0) {
            throw new IllegalArgumentException("initialRebalanceDelayMs (" + initialRebalanceDelayMs
                    + "), newMemberJoinTimeoutMs (" + newMemberJoinTimeoutMs + ") and offsetMetadataMaxBytes ("
                    + offsetMetadataMaxBytes + ") must be >= 0, maxGroupSize (" + maxGroupSize + ") >= 1");
        }
    }

    /** Kafka's defaults: sessions of 6 s to 30 min, 3 s initial delay, 5 min new-member timeout, no size limit, 4096 bytes. */
    static GroupConfig defaults() {
        return new GroupConfig(6_000, 1_800_000, 3_000, 300_000, Integer.MAX_VALUE, 4096);
    }
}
