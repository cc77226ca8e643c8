package dev.strata.kafka;

import java.time.Clock;
import java.util.Objects;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.Records;

/**
 * Topic-level settings of a {@link KafkaPartitionLog}, named after Kafka's topic configs. Immutable
 * and thread-safe; build with {@link #builder()}. Defaults are Kafka 4.3's.
 *
 * @param timestampType {@code message.timestamp.type}: {@code CREATE_TIME} keeps the producer's
 *     timestamps, {@code LOG_APPEND_TIME} overwrites each batch's with the log's clock
 * @param maxMessageBytes {@code max.message.bytes}: largest batch accepted, in bytes
 * @param messageTimestampBeforeMaxMs {@code message.timestamp.before.max.ms}: with CreateTime, how far
 *     in the past a record's timestamp may be
 * @param messageTimestampAfterMaxMs {@code message.timestamp.after.max.ms}: with CreateTime, how far
 *     in the future a record's timestamp may be
 * @param clock source of "now" for LogAppendTime and the timestamp bounds
 */
public record PartitionLogConfig(TimestampType timestampType, int maxMessageBytes,
                                 long messageTimestampBeforeMaxMs, long messageTimestampAfterMaxMs, Clock clock) {

    /** Kafka's default {@code max.message.bytes}: 1 MiB plus the 12-byte log overhead. */
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024 + Records.LOG_OVERHEAD;
    /** Kafka's default {@code message.timestamp.before.max.ms}: no lower bound. */
    public static final long DEFAULT_TIMESTAMP_BEFORE_MAX_MS = Long.MAX_VALUE;
    /** Kafka's default {@code message.timestamp.after.max.ms} since 4.0: one hour. */
    public static final long DEFAULT_TIMESTAMP_AFTER_MAX_MS = 3_600_000L;

    public PartitionLogConfig {
        Objects.requireNonNull(timestampType, "timestampType");
        Objects.requireNonNull(clock, "clock");
        if (timestampType != TimestampType.CREATE_TIME && timestampType != TimestampType.LOG_APPEND_TIME) {
            throw new IllegalArgumentException("timestampType must be CREATE_TIME or LOG_APPEND_TIME, got " + timestampType);
        }
        if (maxMessageBytes < 0) {
            throw new IllegalArgumentException("maxMessageBytes must be >= 0, got " + maxMessageBytes);
        }
        if (messageTimestampBeforeMaxMs < 0 || messageTimestampAfterMaxMs < 0) {
            throw new IllegalArgumentException("message timestamp bounds must be >= 0, got before="
                    + messageTimestampBeforeMaxMs + " after=" + messageTimestampAfterMaxMs);
        }
    }

    /** All defaults: CreateTime, Kafka's size and timestamp limits, the system UTC clock. */
    public static PartitionLogConfig defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Validating builder; each setter checks its value at once. Not thread-safe. */
    public static final class Builder {
        private TimestampType timestampType = TimestampType.CREATE_TIME;
        private int maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES;
        private long beforeMaxMs = DEFAULT_TIMESTAMP_BEFORE_MAX_MS;
        private long afterMaxMs = DEFAULT_TIMESTAMP_AFTER_MAX_MS;
        private Clock clock = Clock.systemUTC();

        private Builder() {
        }

        /** @throws IllegalArgumentException unless CREATE_TIME or LOG_APPEND_TIME */
        public Builder timestampType(TimestampType type) {
            if (type != TimestampType.CREATE_TIME && type != TimestampType.LOG_APPEND_TIME) {
                throw new IllegalArgumentException("timestampType must be CREATE_TIME or LOG_APPEND_TIME, got " + type);
            }
            this.timestampType = type;
            return this;
        }

        /** @throws IllegalArgumentException if negative */
        public Builder maxMessageBytes(int bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("maxMessageBytes must be >= 0, got " + bytes);
            }
            this.maxMessageBytes = bytes;
            return this;
        }

        /** @throws IllegalArgumentException if negative */
        public Builder messageTimestampBeforeMaxMs(long ms) {
            if (ms < 0) {
                throw new IllegalArgumentException("messageTimestampBeforeMaxMs must be >= 0, got " + ms);
            }
            this.beforeMaxMs = ms;
            return this;
        }

        /** @throws IllegalArgumentException if negative */
        public Builder messageTimestampAfterMaxMs(long ms) {
            if (ms < 0) {
                throw new IllegalArgumentException("messageTimestampAfterMaxMs must be >= 0, got " + ms);
            }
            this.afterMaxMs = ms;
            return this;
        }

        /** @throws IllegalArgumentException if null */
        public Builder clock(Clock clock) {
            if (clock == null) {
                throw new IllegalArgumentException("clock must not be null");
            }
            this.clock = clock;
            return this;
        }

        public PartitionLogConfig build() {
            return new PartitionLogConfig(timestampType, maxMessageBytes, beforeMaxMs, afterMaxMs, clock);
        }
    }
}
