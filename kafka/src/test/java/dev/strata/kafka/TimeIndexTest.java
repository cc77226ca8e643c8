package dev.strata.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.core.MemoryStreamStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.Record;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.apache.kafka.common.requests.ListOffsetsRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Offsets by timestamp through the time index: answers equal a scan of the whole log with Kafka's
 * rules (first record at or above the timestamp; -3 the first batch with the largest max timestamp),
 * before and after restarts and crashes, and a lookup reads the data of about one index interval.
 */
class TimeIndexTest {
    private static final long NOW = 1_750_000_000_000L;
    private static final int INDEX_INTERVAL = 4096;

    private final ManualClock clock = new ManualClock(NOW);
    private final MemoryStreamStore memory = new MemoryStreamStore(64 * 1024, 256L << 20);
    private final CountingStreamStore store = new CountingStreamStore(memory);

    @AfterEach
    void closeStore() {
        store.close();
    }

    private PartitionLogConfig config(TimestampType type) {
        return PartitionLogConfig.builder().timestampType(type).clock(clock).messageTimestampAfterMaxMs(Long.MAX_VALUE)
                .snapshotIntervalBytes(32 * 1024).indexIntervalBytes(INDEX_INTERVAL).retentionMs(-1).build();
    }

    /** A batch of {@code count} records of 200 bytes with the given timestamps (-1 = none). */
    private static MemoryRecords batch(long... timestamps) {
        SimpleRecord[] records = new SimpleRecord[timestamps.length];
        for (int i = 0; i < timestamps.length; i++) {
            records[i] = new SimpleRecord(timestamps[i], null, new byte[200]);
        }
        return MemoryRecords.withRecords(Compression.NONE, records);
    }

    /** Appends {@code batches} batches of 1-5 records with timestamps around NOW (not in order); epoch = batch index / 10. */
    private static void appendRandom(KafkaPartitionLog log, Random random, int batches) {
        appendRandom(log, random, batches, 0);
    }

    /** As {@link #appendRandom(KafkaPartitionLog, Random, int)}, with timestamps {@code shift} later. */
    private static void appendRandom(KafkaPartitionLog log, Random random, int batches, long shift) {
        for (int i = 0; i < batches; i++) {
            long[] ts = new long[1 + random.nextInt(5)];
            for (int j = 0; j < ts.length; j++) {
                ts[j] = random.nextInt(30) == 0 ? -1 : NOW - 1_000_000 + random.nextInt(1_000_000) + i * 500L + shift;
            }
            if (random.nextInt(20) == 0) {
                java.util.Arrays.fill(ts, -1);
            }
            log.appendAsLeader(batch(ts), i / 10).join();
        }
    }

    /** Kafka's answers computed by reading every retained batch. */
    private static Optional<TimestampAndOffset> scan(KafkaPartitionLog log, long timestamp) {
        long start = log.logStartOffset();
        RecordBatch best = null;
        for (RecordBatch b : allBatches(log)) {
            if (timestamp == ListOffsetsRequest.MAX_TIMESTAMP) {
                if (best == null || b.maxTimestamp() > best.maxTimestamp()) {
                    best = b;
                }
                continue;
            }
            if (b.maxTimestamp() >= timestamp) {
                for (Record r : b) {
                    if (r.timestamp() >= timestamp && r.offset() >= start) {
                        return Optional.of(new TimestampAndOffset(r.timestamp(), r.offset(), epoch(b)));
                    }
                }
            }
        }
        RecordBatch max = best;
        return max == null ? Optional.empty() : max.offsetOfMaxTimestamp()
                .map(o -> new TimestampAndOffset(max.maxTimestamp(), o, epoch(max)));
    }

    private static OptionalInt epoch(RecordBatch b) {
        return b.partitionLeaderEpoch() >= 0 ? OptionalInt.of(b.partitionLeaderEpoch()) : OptionalInt.empty();
    }

    private static List<RecordBatch> allBatches(KafkaPartitionLog log) {
        List<RecordBatch> out = new ArrayList<>();
        long offset = log.logStartOffset();
        while (offset < log.logEndOffset()) {
            MemoryRecords records = Batches.read(log, offset, Integer.MAX_VALUE, Isolation.HIGH_WATERMARK, true);
            for (RecordBatch b : records.batches()) {
                out.add(b);
                offset = b.nextOffset();
            }
        }
        return out;
    }

    /** Every lookup from well before the first timestamp to after the last, and -3, equals the scan. */
    private static void assertAnswersEqualScan(KafkaPartitionLog log, Random random) {
        List<Long> targets = new ArrayList<>(List.of(ListOffsetsRequest.MAX_TIMESTAMP, 0L, NOW - 2_000_000, NOW + 10_000_000));
        for (RecordBatch b : allBatches(log)) {
            for (Record r : b) {
                if (r.timestamp() >= 0) { // exact hits, and one above
                    targets.add(r.timestamp());
                    targets.add(r.timestamp() + 1);
                }
            }
        }
        for (int i = 0; i < 50; i++) {
            targets.add(NOW - 1_100_000 + random.nextInt(1_400_000));
        }
        for (long t : targets) {
            assertThat(log.fetchOffsetByTimestamp(t).join()).as("lookup of %d in [%d, %d)", t, log.logStartOffset(),
                    log.logEndOffset()).isEqualTo(scan(log, t));
        }
    }

    @Test
    void lookupsEqualAScanOfTheLogAcrossIntervalsSnapshotsAndTrims() {
        Random random = new Random(42);
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(TimestampType.CREATE_TIME)).join();
        appendRandom(log, random, 300); // ~180 KiB: index entries written with 5 snapshots, the rest in memory
        log.snapshotsWritten().join();
        assertAnswersEqualScan(log, random);

        log.deleteRecords(401).join(); // inside a batch: its earlier records no longer answer
        assertAnswersEqualScan(log, random);
        log.close();
    }

    @Test
    void maxTimestampIsTheFirstBatchWithTheLargestMaxAndItsFirstRecordWithIt() {
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(TimestampType.CREATE_TIME)).join();
        log.appendAsLeader(batch(NOW - 5, NOW + 9, NOW + 9, NOW), 1).join(); // 0..3
        log.appendAsLeader(batch(NOW + 9), 2).join(); // 4: ties, later
        log.appendAsLeader(batch(NOW + 1), 3).join(); // 5

        assertThat(log.fetchOffsetByTimestamp(-3).join()).contains(new TimestampAndOffset(NOW + 9, 1, OptionalInt.of(1)));
        assertThat(log.fetchOffsetByTimestamp(NOW + 9).join()).contains(new TimestampAndOffset(NOW + 9, 1, OptionalInt.of(1)));
        assertThat(log.fetchOffsetByTimestamp(NOW).join()).contains(new TimestampAndOffset(NOW + 9, 1, OptionalInt.of(1)));
        assertThat(log.fetchOffsetByTimestamp(NOW + 10).join()).isEmpty();
        assertThat(log.offsetForTimestamp(NOW + 10).join()).isEqualTo(-1);

        // the start inside the max's batch: the batch is retained whole, and answers as in Kafka
        log.deleteRecords(2).join();
        assertThat(log.fetchOffsetByTimestamp(-3).join()).contains(new TimestampAndOffset(NOW + 9, 1, OptionalInt.of(1)));
        assertThat(log.fetchOffsetByTimestamp(NOW + 9).join()).contains(new TimestampAndOffset(NOW + 9, 2, OptionalInt.of(1)));
        // the max's batch trimmed: the retained max
        log.deleteRecords(4).join();
        assertThat(log.fetchOffsetByTimestamp(-3).join()).contains(new TimestampAndOffset(NOW + 9, 4, OptionalInt.of(2)));
        log.deleteRecords(5).join();
        assertThat(log.fetchOffsetByTimestamp(-3).join()).contains(new TimestampAndOffset(NOW + 1, 5, OptionalInt.of(3)));
        assertThat(log.fetchOffsetByTimestamp(NOW - 100).join()).contains(new TimestampAndOffset(NOW + 1, 5, OptionalInt.of(3)));
        log.deleteRecords(6).join();
        assertThat(log.fetchOffsetByTimestamp(-3).join()).isEmpty();
        assertThat(log.fetchOffsetByTimestamp(NOW - 100).join()).isEmpty();
        log.close();
    }

    @Test
    void batchesWithoutTimestampsAnswerMinusThreeOnlyWhenNothingHasOne() {
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(TimestampType.CREATE_TIME)).join();
        assertThat(log.fetchOffsetByTimestamp(-3).join()).as("empty log").isEmpty();
        log.appendAsLeader(batch(-1, -1), 0).join();
        assertThat(log.fetchOffsetByTimestamp(-3).join()).contains(new TimestampAndOffset(-1, 0, OptionalInt.of(0)));
        assertThat(log.fetchOffsetByTimestamp(0).join()).isEmpty();
        log.appendAsLeader(batch(NOW), 0).join();
        assertThat(log.fetchOffsetByTimestamp(-3).join()).contains(new TimestampAndOffset(NOW, 2, OptionalInt.of(0)));
        assertThat(log.fetchOffsetByTimestamp(0).join()).contains(new TimestampAndOffset(NOW, 2, OptionalInt.of(0)));
        log.close();
    }

    @Test
    void logAppendTimeAnswersTheBatchBaseOffset() {
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(TimestampType.LOG_APPEND_TIME)).join();
        log.appendAsLeader(batch(5, 6, 7), 0).join();
        clock.advance(10);
        log.appendAsLeader(batch(1, 2), 0).join();
        assertThat(log.fetchOffsetByTimestamp(NOW + 1).join()).contains(new TimestampAndOffset(NOW + 10, 3, OptionalInt.of(0)));
        assertThat(log.fetchOffsetByTimestamp(-3).join()).contains(new TimestampAndOffset(NOW + 10, 3, OptionalInt.of(0)));
        assertThat(log.fetchOffsetByTimestamp(NOW).join()).contains(new TimestampAndOffset(NOW, 0, OptionalInt.of(0)));
        log.close();
    }

    @Test
    void otherSpecialTimestamps() {
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(TimestampType.CREATE_TIME)).join();
        log.appendAsLeader(batch(NOW, NOW), 4).join();
        log.deleteRecords(1).join();
        // -4 (earliest local) is the earliest without tiered storage, as in Kafka
        assertThat(log.fetchOffsetByTimestamp(ListOffsetsRequest.EARLIEST_LOCAL_TIMESTAMP).join())
                .isEqualTo(log.fetchOffsetByTimestamp(ListOffsetsRequest.EARLIEST_TIMESTAMP).join());
        assertThatThrownBy(() -> log.fetchOffsetByTimestamp(ListOffsetsRequest.LATEST_TIERED_TIMESTAMP))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-5");
        log.close();
    }

    @Test
    void aLookupReadsAboutOneIndexIntervalOfData() {
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(TimestampType.CREATE_TIME)).join();
        for (int i = 0; i < 500; i++) { // ~110 KiB, increasing timestamps
            log.appendAsLeader(batch(NOW + 2L * i, NOW + 2L * i + 1), 0).join();
        }
        log.snapshotsWritten().join();
        long dataId = log.streamId();
        for (long target : new long[] {NOW + 3, NOW + 401, NOW + 999, -3}) {
            store.fetches.clear();
            long expected = target == -3 ? 999 : target - NOW;
            assertThat(log.offsetForTimestamp(target).join()).isEqualTo(expected);
            assertThat(store.bytesFetchedFrom(dataId)).as("data read for %d", target).isLessThanOrEqualTo(2 * INDEX_INTERVAL);
        }
        log.close();
    }

    @Test
    void answersSurviveACleanRestartAndACrash() {
        Random random = new Random(7);
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(TimestampType.CREATE_TIME)).join();
        appendRandom(log, random, 150);
        log.deleteRecords(37).join();
        appendRandom(log, random, 40);
        long id = log.streamId();
        long metaId = log.metaStreamId();
        long indexId = log.timeIndexStreamId();
        log.close();

        KafkaPartitionLog reopened = KafkaPartitionLog.open(store, id, metaId, 1, config(TimestampType.CREATE_TIME)).join();
        assertThat(reopened.timeIndexStreamId()).isEqualTo(indexId);
        assertAnswersEqualScan(reopened, random);
        appendRandom(reopened, random, 77, 2_000_000); // newer timestamps, partly beyond the last snapshot
        reopened.snapshotsWritten().join();

        // crash: a new leader opens the streams while the old holder is still open (no close snapshot)
        KafkaPartitionLog leader = KafkaPartitionLog.open(store, id, metaId, 2, config(TimestampType.CREATE_TIME)).join();
        assertAnswersEqualScan(leader, random);
        appendRandom(leader, random, 10, 4_000_000);
        assertAnswersEqualScan(leader, random);
        leader.close();
    }

    @Test
    void aLogOpenedFromItsDataStreamAloneIndexesInMemory() {
        Random random = new Random(3);
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(TimestampType.CREATE_TIME)).join();
        appendRandom(log, random, 60);
        long id = log.streamId();
        log.close();
        KafkaPartitionLog dataOnly = KafkaPartitionLog.open(store, id, 1, config(TimestampType.CREATE_TIME)).join();
        assertThat(dataOnly.timeIndexStreamId()).isEqualTo(-1);
        assertAnswersEqualScan(dataOnly, random);
        dataOnly.deleteRecords(50).join();
        assertAnswersEqualScan(dataOnly, random);
        dataOnly.close();
    }
}
