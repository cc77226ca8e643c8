package dev.strata.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.core.MemoryStreamStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Idempotent producers (Kafka's ProducerAppendInfo rules) and the leader-epoch cache, on a memory store. */
class IdempotentProducerTest {
    private static final long NOW = 1_750_000_000_000L;
    private static final long PID = 42L;

    private final ManualClock clock = new ManualClock(NOW);
    private final MemoryStreamStore store = new MemoryStreamStore(64 * 1024, 64L << 20);

    @AfterEach
    void closeStore() {
        store.close();
    }

    private PartitionLogConfig config(TimestampType type) {
        return PartitionLogConfig.builder().timestampType(type).clock(clock).build();
    }

    private KafkaPartitionLog create() {
        return KafkaPartitionLog.create(store, 0, config(TimestampType.CREATE_TIME)).join();
    }

    /** A batch of {@code count} records from producer {@code pid} at {@code epoch}, first sequence {@code seq}. */
    static MemoryRecords idempotent(long pid, int epoch, int seq, int count, long timestamp) {
        SimpleRecord[] records = new SimpleRecord[count];
        for (int i = 0; i < count; i++) {
            records[i] = new SimpleRecord(timestamp + i, ("v" + seq + "-" + i).getBytes());
        }
        return MemoryRecords.withIdempotentRecords(Compression.NONE, pid, (short) epoch, seq, records);
    }

    private static Errors errorOf(CompletableFuture<?> f) {
        try {
            f.join();
        } catch (CompletionException e) {
            return ((KafkaLogException) e.getCause()).error();
        }
        throw new AssertionError("expected a failure, got " + f.join());
    }

    @Test
    void retriesOfTheLastFiveBatchesReturnTheOriginalOffsetsAndAreNotStoredAgain() {
        KafkaPartitionLog log = create();
        List<AppendInfo> originals = new ArrayList<>();
        for (int i = 0; i < 6; i++) { // batches of 2 records: sequences 0-1, 2-3, ..., 10-11
            originals.add(log.appendAsLeader(idempotent(PID, 0, 2 * i, 2, NOW), 0).join());
        }
        assertThat(log.logEndOffset()).isEqualTo(12);
        for (int i = 1; i < 6; i++) {
            AppendInfo retry = log.appendAsLeader(idempotent(PID, 0, 2 * i, 2, NOW), 0).join();
            // Kafka answers a duplicate with the stored batch's max timestamp as log append time
            assertThat(retry).isEqualTo(new AppendInfo(originals.get(i).baseOffset(), originals.get(i).lastOffset(), NOW + 1, 0));
        }
        assertThat(log.logEndOffset()).isEqualTo(12);
        // the sixth-newest is forgotten: its retry is out of order
        assertThat(errorOf(log.appendAsLeader(idempotent(PID, 0, 0, 2, NOW), 0))).isEqualTo(Errors.OUT_OF_ORDER_SEQUENCE_NUMBER);
        // a retry must match the sequence range exactly
        assertThat(errorOf(log.appendAsLeader(idempotent(PID, 0, 10, 1, NOW), 0))).isEqualTo(Errors.OUT_OF_ORDER_SEQUENCE_NUMBER);
        assertThat(log.logEndOffset()).isEqualTo(12);
        assertThat(log.appendAsLeader(idempotent(PID, 0, 12, 1, NOW), 0).join().baseOffset()).isEqualTo(12);
    }

    @Test
    void sequenceGapsOldEpochsAndNewEpochsNotAtZeroAreRefused() {
        KafkaPartitionLog log = create();
        // a producer the log does not know may start anywhere
        assertThat(log.appendAsLeader(idempotent(PID, 3, 17, 1, NOW), 0).join().baseOffset()).isZero();
        assertThat(errorOf(log.appendAsLeader(idempotent(PID, 3, 19, 1, NOW), 0))).isEqualTo(Errors.OUT_OF_ORDER_SEQUENCE_NUMBER);
        assertThat(errorOf(log.appendAsLeader(idempotent(PID, 2, 18, 1, NOW), 0))).isEqualTo(Errors.INVALID_PRODUCER_EPOCH);
        assertThat(errorOf(log.appendAsLeader(idempotent(PID, 4, 1, 1, NOW), 0))).isEqualTo(Errors.OUT_OF_ORDER_SEQUENCE_NUMBER);
        assertThat(log.logEndOffset()).isEqualTo(1);
        assertThat(log.appendAsLeader(idempotent(PID, 4, 0, 1, NOW), 0).join().baseOffset()).isEqualTo(1);
        // the new epoch dropped the old epoch's batches: a retry of them is fenced
        assertThat(errorOf(log.appendAsLeader(idempotent(PID, 3, 17, 1, NOW), 0))).isEqualTo(Errors.INVALID_PRODUCER_EPOCH);
        assertThat(log.appendAsLeader(idempotent(PID + 1, 0, 0, 1, NOW), 0).join().baseOffset()).isEqualTo(2);
        assertThat(log.producerState(PID).batches()).hasSize(1);
        assertThat(log.producerState(PID).epoch()).isEqualTo((short) 4);
    }

    @Test
    void aDuplicateWithLogAppendTimeAnswersTheOriginalAppendTime() {
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(TimestampType.LOG_APPEND_TIME)).join();
        AppendInfo first = log.appendAsLeader(idempotent(PID, 0, 0, 3, NOW - 10), 0).join();
        clock.advance(5_000);
        assertThat(log.appendAsLeader(idempotent(PID, 0, 0, 3, NOW - 10), 0).join()).isEqualTo(first);
        assertThat(first.logAppendTimeMs()).isEqualTo(NOW);
    }

    @Test
    void leaderEpochCacheRecordsEachEpochsStartAndAnswersOffsetForLeaderEpoch() {
        KafkaPartitionLog log = create();
        assertThat(log.endOffsetForEpoch(0)).isEqualTo(new EpochEndOffset(-1, -1));
        log.appendAsLeader(Batches.plain(Compression.NONE, 3, 10, NOW), 0).join(); // [0, 3) epoch 0
        log.appendAsLeader(Batches.plain(Compression.NONE, 2, 10, NOW), 2).join(); // [3, 5) epoch 2
        log.appendAsLeader(Batches.plain(Compression.NONE, 2, 10, NOW), 2).join(); // [5, 7)
        log.appendAsLeader(Batches.plain(Compression.NONE, 1, 10, NOW), 5).join(); // [7, 8) epoch 5
        assertThat(log.leaderEpochEntries()).containsExactly(new LeaderEpochEntry(0, 0), new LeaderEpochEntry(2, 3),
                new LeaderEpochEntry(5, 7));
        assertThat(log.latestEpoch()).hasValue(5);
        assertThat(log.endOffsetForEpoch(0)).isEqualTo(new EpochEndOffset(0, 3));
        assertThat(log.endOffsetForEpoch(1)).isEqualTo(new EpochEndOffset(0, 3)); // largest known epoch <= 1
        assertThat(log.endOffsetForEpoch(2)).isEqualTo(new EpochEndOffset(2, 7));
        assertThat(log.endOffsetForEpoch(4)).isEqualTo(new EpochEndOffset(2, 7));
        assertThat(log.endOffsetForEpoch(5)).isEqualTo(new EpochEndOffset(5, 8)); // latest: the log end offset
        assertThat(log.endOffsetForEpoch(6)).isEqualTo(new EpochEndOffset(-1, -1));
        assertThat(log.endOffsetForEpoch(-1)).isEqualTo(new EpochEndOffset(-1, -1));

        // deleteRecords truncates from the start as Kafka: the last epoch at or below it starts there
        log.deleteRecords(4).join();
        assertThat(log.leaderEpochEntries()).containsExactly(new LeaderEpochEntry(2, 4), new LeaderEpochEntry(5, 7));
        assertThat(log.endOffsetForEpoch(0)).isEqualTo(new EpochEndOffset(0, 4)); // below every known epoch
        // ListOffsets carries the epochs: earliest the first cached (it starts at the log start), latest the last
        assertThat(log.fetchOffsetByTimestamp(-2).join()).contains(new TimestampAndOffset(-1, 4, java.util.OptionalInt.of(2)));
        assertThat(log.fetchOffsetByTimestamp(-1).join()).contains(new TimestampAndOffset(-1, 8, java.util.OptionalInt.of(5)));
    }

    @Test
    void retriesOfAcknowledgedBatchesAreDuplicatesAfterACleanReopen() {
        KafkaPartitionLog log = create();
        List<AppendInfo> originals = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            originals.add(log.appendAsLeader(idempotent(PID, 1, i, 1, NOW), 3).join());
        }
        long id = log.streamId();
        long metaId = log.metaStreamId();
        log.close();

        KafkaPartitionLog reopened = KafkaPartitionLog.open(store, id, metaId, 1, config(TimestampType.CREATE_TIME)).join();
        for (int i = 0; i < 5; i++) { // all five, where Kafka's snapshot keeps only the last batch
            assertThat(reopened.appendAsLeader(idempotent(PID, 1, i, 1, NOW), 3).join()).extracting(AppendInfo::baseOffset)
                    .isEqualTo(originals.get(i).baseOffset());
        }
        assertThat(reopened.logEndOffset()).isEqualTo(5);
        assertThat(errorOf(reopened.appendAsLeader(idempotent(PID, 0, 5, 1, NOW), 3))).isEqualTo(Errors.INVALID_PRODUCER_EPOCH);
        assertThat(reopened.leaderEpochEntries()).containsExactly(new LeaderEpochEntry(3, 0));
        reopened.close();
    }

    @Test
    void producersIdleForTheExpirationTimeAreForgottenOnRequestAndAtLoad() {
        KafkaPartitionLog log = create();
        log.appendAsLeader(idempotent(PID, 0, 0, 1, NOW), 0).join();
        log.appendAsLeader(idempotent(PID + 1, 0, 0, 1, NOW + 1000), 0).join();
        clock.advance(PartitionLogConfig.DEFAULT_PRODUCER_ID_EXPIRATION_MS - 1);
        assertThat(log.removeExpiredProducers()).isZero();
        clock.advance(1);
        assertThat(log.removeExpiredProducers()).isEqualTo(1); // PID's last timestamp is a day old
        assertThat(log.producerState(PID)).isNull();
        // a forgotten producer may start anywhere; its old batch is no longer a duplicate
        assertThat(log.appendAsLeader(idempotent(PID, 0, 0, 1, NOW), 0).join().baseOffset()).isEqualTo(2);
        assertThat(log.appendAsLeader(idempotent(PID + 1, 0, 0, 1, NOW + 1000), 0).join().baseOffset()).isEqualTo(1);

        long id = log.streamId();
        long metaId = log.metaStreamId();
        log.close();
        clock.advance(1000);
        KafkaPartitionLog reopened = KafkaPartitionLog.open(store, id, metaId, 1, config(TimestampType.CREATE_TIME)).join();
        assertThat(reopened.producerState(PID)).isNull(); // its last timestamp (NOW) expired: not loaded
        assertThat(reopened.producerState(PID + 1)).isNull();
        reopened.close();
    }
}
