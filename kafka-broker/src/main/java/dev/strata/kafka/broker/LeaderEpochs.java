package dev.strata.kafka.broker;

import java.util.Optional;
import org.apache.kafka.common.protocol.Errors;

/**
 * The check Kafka's {@code Partition} makes of a client's {@code currentLeaderEpoch}: this broker
 * leads every partition at {@link Topics#LEADER_EPOCH}; a client that knows a newer epoch gets
 * UNKNOWN_LEADER_EPOCH, one with an older epoch FENCED_LEADER_EPOCH (both make it refresh metadata).
 */
final class LeaderEpochs {
    private LeaderEpochs() {
    }

    static Errors check(Optional<Integer> currentLeaderEpoch) {
        if (currentLeaderEpoch.isEmpty()) {
            return Errors.NONE;
        }
        int epoch = currentLeaderEpoch.get();
        if (epoch > Topics.LEADER_EPOCH) {
            return Errors.UNKNOWN_LEADER_EPOCH;
        }
        return epoch < Topics.LEADER_EPOCH ? Errors.FENCED_LEADER_EPOCH : Errors.NONE;
    }

    static Errors check(int currentLeaderEpoch) {
        return check(currentLeaderEpoch < 0 ? Optional.empty() : Optional.of(currentLeaderEpoch));
    }
}
