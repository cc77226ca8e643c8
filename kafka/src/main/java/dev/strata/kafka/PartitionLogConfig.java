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
 * @param snapshotIntervalBytes (this log's own) a snapshot of the producer state and leader-epoch
 *     cache is written to the meta stream after this many bytes of data, and at close; a reopen
 *     after a crash replays at most about this much data
 * @param metaChunkBytes (this log's own) largest meta-stream batch a snapshot is split into; must
 *     not exceed the store's batch limit
 * @param producerIdExpirationMs {@code producer.id.expiration.ms} (a broker setting in Kafka): an
 *     idempotent producer whose last batch's timestamp is this old is forgotten by
 *     {@link KafkaPartitionLog#removeExpiredProducers()} and when a snapshot is loaded
 * @param retentionMs {@code retention.ms}: {@link KafkaPartitionLog#applyRetention()} removes the
 *     oldest batches whose max timestamp is more than this before now; -1 = no limit
 * @param retentionBytes {@code retention.bytes}: {@link KafkaPartitionLog#applyRetention()} removes the
 *     oldest batches while at least this many bytes remain; -1 = no limit
 * @param indexIntervalBytes {@code index.interval.bytes}: the time index has one entry per this many
 *     bytes of batches (and one per snapshot); a timestamp lookup reads about this much data
 */
public record PartitionLogConfig(TimestampType timestampType, int maxMessageBytes,
                                 long messageTimestampBeforeMaxMs, long messageTimestampAfterMaxMs, Clock clock,
                                 long snapshotIntervalBytes, int metaChunkBytes, long producerIdExpirationMs,
                                 long retentionMs, long retentionBytes, int indexIntervalBytes) {

    /** Kafka's default {@code max.message.bytes}: 1 MiB plus the 12-byte log overhead. */
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024 + Records.LOG_OVERHEAD;
    /** Kafka's default {@code message.timestamp.before.max.ms}: no lower bound. */
    public static final long DEFAULT_TIMESTAMP_BEFORE_MAX_MS = Long.MAX_VALUE;
    /** Kafka's default {@code message.timestamp.after.max.ms} since 4.0: one hour. */
    public static final long DEFAULT_TIMESTAMP_AFTER_MAX_MS = 3_600_000L;
    /** Default {@link #snapshotIntervalBytes()}: 8 MiB. */
    public static final long DEFAULT_SNAPSHOT_INTERVAL_BYTES = 8L << 20;
    /** Default {@link #metaChunkBytes()}: 32 KiB. */
    public static final int DEFAULT_META_CHUNK_BYTES = 32 * 1024;
    /** Kafka's default {@code producer.id.expiration.ms}: one day. */
    public static final long DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000L;
    /** Kafka's default {@code retention.ms}: seven days. */
    public static final long DEFAULT_RETENTION_MS = 604_800_000L;
    /** Kafka's default {@code retention.bytes}: no limit. */
    public static final long DEFAULT_RETENTION_BYTES = -1;
    /** Kafka's default {@code index.interval.bytes}: 4 KiB. */
    public static final int DEFAULT_INDEX_INTERVAL_BYTES = 4096;
    /** Smallest {@link #metaChunkBytes()}: a chunk header plus 64 bytes of state. */
    public static final int MIN_META_CHUNK_BYTES = MetaSnapshot.CHUNK_HEADER_BYTES + 64;

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
        if (snapshotIntervalBytes < 1) {
            throw new IllegalArgumentException("snapshotIntervalBytes must be >= 1, got " + snapshotIntervalBytes);
        }
        if (metaChunkBytes < MIN_META_CHUNK_BYTES) {
            throw new IllegalArgumentException("metaChunkBytes must be >= " + MIN_META_CHUNK_BYTES + ", got " + metaChunkBytes);
        }
        if (producerIdExpirationMs < 1) {
            throw new IllegalArgumentException("producerIdExpirationMs must be >= 1, got " + producerIdExpirationMs);
        }
        checkRetention(retentionMs, retentionBytes, indexIntervalBytes);
    }

    private static void checkRetention(long retentionMs, long retentionBytes, int indexIntervalBytes) {
        if (retentionMs < -1) {
            throw new IllegalArgumentException("retentionMs must be >= -1 (-1 = no limit), got " + retentionMs);
        }
        if (retentionBytes < -1) {
            throw new IllegalArgumentException("retentionBytes must be >= -1 (-1 = no limit), got " + retentionBytes);
        }
        if (indexIntervalBytes < 0) {
            throw new IllegalArgumentException("indexIntervalBytes must be >= 0, got " + indexIntervalBytes);
        }
    }

    /** The settings of slice 1, with the defaults of the later ones. */
    public PartitionLogConfig(TimestampType timestampType, int maxMessageBytes, long messageTimestampBeforeMaxMs,
                              long messageTimestampAfterMaxMs, Clock clock) {
        this(timestampType, maxMessageBytes, messageTimestampBeforeMaxMs, messageTimestampAfterMaxMs, clock,
                DEFAULT_SNAPSHOT_INTERVAL_BYTES, DEFAULT_META_CHUNK_BYTES, DEFAULT_PRODUCER_ID_EXPIRATION_MS,
                DEFAULT_RETENTION_MS, DEFAULT_RETENTION_BYTES, DEFAULT_INDEX_INTERVAL_BYTES);
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
        private long snapshotIntervalBytes = DEFAULT_SNAPSHOT_INTERVAL_BYTES;
        private int metaChunkBytes = DEFAULT_META_CHUNK_BYTES;
        private long producerIdExpirationMs = DEFAULT_PRODUCER_ID_EXPIRATION_MS;
        private long retentionMs = DEFAULT_RETENTION_MS;
        private long retentionBytes = DEFAULT_RETENTION_BYTES;
        private int indexIntervalBytes = DEFAULT_INDEX_INTERVAL_BYTES;

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

        /** @throws IllegalArgumentException if below 1 */
        public Builder snapshotIntervalBytes(long bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("snapshotIntervalBytes must be >= 1, got " + bytes);
            }
            this.snapshotIntervalBytes = bytes;
            return this;
        }

        /** @throws IllegalArgumentException if below {@link #MIN_META_CHUNK_BYTES} */
        public Builder metaChunkBytes(int bytes) {
            if (bytes < MIN_META_CHUNK_BYTES) {
                throw new IllegalArgumentException("metaChunkBytes must be >= " + MIN_META_CHUNK_BYTES + ", got " + bytes);
            }
            this.metaChunkBytes = bytes;
            return this;
        }

        /** @throws IllegalArgumentException if below 1 */
        public Builder producerIdExpirationMs(long ms) {
            if (ms < 1) {
                throw new IllegalArgumentException("producerIdExpirationMs must be >= 1, got " + ms);
            }
            this.producerIdExpirationMs = ms;
            return this;
        }

        /** @throws IllegalArgumentException if below -1 (-1 = no limit) */
        public Builder retentionMs(long ms) {
            checkRetention(ms, -1, 0);
            this.retentionMs = ms;
            return this;
        }

        /** @throws IllegalArgumentException if below -1 (-1 = no limit) */
        public Builder retentionBytes(long bytes) {
            checkRetention(-1, bytes, 0);
            this.retentionBytes = bytes;
            return this;
        }

        /** @throws IllegalArgumentException if negative */
        public Builder indexIntervalBytes(int bytes) {
            checkRetention(-1, -1, bytes);
            this.indexIntervalBytes = bytes;
            return this;
        }

        public PartitionLogConfig build() {
            return new PartitionLogConfig(timestampType, maxMessageBytes, beforeMaxMs, afterMaxMs, clock,
                    snapshotIntervalBytes, metaChunkBytes, producerIdExpirationMs, retentionMs, retentionBytes,
                    indexIntervalBytes);
        }
    }
}
