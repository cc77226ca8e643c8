package dev.strata.kafka;

import java.util.OptionalInt;

/**
 * A ListOffsets answer for one partition, as Kafka's {@code FileRecords.TimestampAndOffset}.
 *
 * @param timestamp the timestamp of the record found, or -1 for the earliest/latest lookups
 * @param offset the offset found
 * @param leaderEpoch the leader epoch of that offset, if the leader-epoch cache knows it
 */
public record TimestampAndOffset(long timestamp, long offset, OptionalInt leaderEpoch) {
}
