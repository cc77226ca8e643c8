package dev.strata.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.core.MemoryStreamStore;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link KafkaPartitionLog#applyRetention()}: Kafka's retention.bytes and retention.ms rules on
 * whole batches, through the time index (about one interval of data read), also after a restart
 * and a crash.
 */
class RetentionTest {
    private static final long NOW = 1_750_000_000_000L;
    private static final long HOUR = 3_600_000L;
    private static final int INDEX_INTERVAL = 4096;

    private final ManualClock clock = new ManualClock(NOW);
    private final MemoryStreamStore memory = new MemoryStreamStore(64 * 1024, 256L << 20);
    private final CountingStreamStore store = new CountingStreamStore(memory);

    @AfterEach
    void closeStore() {
        store.close();
    }

    private PartitionLogConfig config(long retentionMs, long retentionBytes) {
        return PartitionLogConfig.builder().timestampType(TimestampType.CREATE_TIME).clock(clock)
                .messageTimestampAfterMaxMs(Long.MAX_VALUE).snapshotIntervalBytes(16 * 1024).indexIntervalBytes(INDEX_INTERVAL)
                .retentionMs(retentionMs).retentionBytes(retentionBytes).build();
    }

    /** One batch of {@code count} records of 300 bytes, all at {@code timestamp} (-1: none). */
    private static MemoryRecords batch(int count, long timestamp) {
        SimpleRecord[] records = new SimpleRecord[count];
        for (int i = 0; i < count; i++) {
            records[i] = new SimpleRecord(timestamp, null, new byte[300]);
        }
        return MemoryRecords.withRecords(Compression.NONE, records);
    }

    private static List<RecordBatch> batches(KafkaPartitionLog log) {
        List<RecordBatch> out = new ArrayList<>();
        long offset = log.logStartOffset();
        while (offset < log.logEndOffset()) {
            for (RecordBatch b : Batches.read(log, offset, Integer.MAX_VALUE, Isolation.HIGH_WATERMARK, true).batches()) {
                out.add(b);
                offset = b.nextOffset();
            }
        }
        return out;
    }

    /** Kafka's size rule on batches: the oldest go while what remains is at least {@code keep} bytes. */
    private static long expectedStartForSize(List<RecordBatch> all, long keep, long start) {
        long remaining = all.stream().mapToLong(RecordBatch::sizeInBytes).sum();
        for (RecordBatch b : all) {
            if (remaining - b.sizeInBytes() < keep) {
                return Math.max(start, b.baseOffset());
            }
            remaining -= b.sizeInBytes();
        }
        return all.isEmpty() ? start : all.get(all.size() - 1).nextOffset();
    }

    /** One batch at {@code base} with its offsets and leader epoch 0 set, as appendWithOffsets takes it. */
    private static MemoryRecords batchAt(long base, int valueBytes) {
        return MemoryRecords.withRecords(base, Compression.NONE, 0, new SimpleRecord(NOW, null, new byte[valueBytes]));
    }

    /**
     * A gap filler counts no bytes, also when the size rule walks the batches of an interval: the
     * limit here falls within a filler's 61 bytes of the boundary after a small batch, where
     * counting it moved the start one batch too far (the differential property found it).
     */
    @Test
    void retentionBytesCountsNoBytesForAnOffsetGap() {
        MemoryRecords a = batchAt(0, 300);
        MemoryRecords b = batchAt(1, 0); // a small batch, under a filler's size
        MemoryRecords c = batchAt(10, 300); // after the gap 2..9
        MemoryRecords d = batchAt(11, 300);
        long total = a.sizeInBytes() + b.sizeInBytes() + c.sizeInBytes() + d.sizeInBytes();
        long keep = total - a.sizeInBytes() - b.sizeInBytes() + 30; // b must stay: without it less than keep remains
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(-1, keep)).join();
        for (MemoryRecords batch : List.of(a, b, c, d)) {
            log.appendWithOffsets(batch).join();
        }

        assertThat(log.applyRetention().join()).isEqualTo(1);
        assertThat(batches(log)).extracting(RecordBatch::baseOffset).containsExactly(1L, 10L, 11L);
        log.close();
    }

    /**
     * An offset gap goes with the batch after it (Kafka keeps a gap in that batch's segment): a gap
     * before a batch that is not old stays, though the gap itself has no timestamp.
     */
    @Test
    void retentionMsKeepsAnOffsetGapWithTheBatchAfterIt() {
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(HOUR, -1)).join();
        log.appendWithOffsets(batchAt(40, 300)).join(); // offsets 0..39 are a gap

        assertThat(log.applyRetention().join()).isZero();
        clock.advance(2 * HOUR);
        assertThat(log.applyRetention().join()).isEqualTo(41);
        log.close();
    }

    /**
     * Nothing to delete by size, on a log whose time index was trimmed past its 128th entry: the
     * size rule compared two boxed index positions by reference (Error Prone's
     * BoxedPrimitiveEquality), which holds only for positions Long.valueOf caches (below 128), so it
     * went on to read the entry before the index's start, which is gone, and retention failed.
     */
    @Test
    void retentionBytesWithNothingToDeleteAfterTheIndexWasTrimmedPast128Entries() {
        PartitionLogConfig oneEntryPerBatch = PartitionLogConfig.builder().timestampType(TimestampType.CREATE_TIME)
                .clock(clock).messageTimestampAfterMaxMs(Long.MAX_VALUE).snapshotIntervalBytes(16 * 1024)
                .indexIntervalBytes(1).retentionMs(-1).retentionBytes(1L << 30).build();
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, oneEntryPerBatch).join();
        for (int i = 0; i < 200; i++) {
            log.appendAsLeader(batch(1, NOW), 0).join();
        }
        assertThat(log.deleteRecords(150).join()).isEqualTo(150);

        assertThat(log.applyRetention().join()).as("less than retention.bytes remains").isEqualTo(150);
        assertThat(batches(log)).hasSize(50);
        log.close();
    }

    @Test
    void retentionBytesKeepsAtLeastTheLimitInWholeBatches() {
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(-1, 20_000)).join();
        for (int i = 0; i < 60; i++) {
            log.appendAsLeader(batch(1 + i % 4, NOW), 0).join(); // 0.3-1.2 KiB each, ~45 KiB
        }
        List<RecordBatch> before = batches(log);
        long expected = expectedStartForSize(before, 20_000, 0);
        assertThat(expected).isGreaterThan(0);

        assertThat(log.applyRetention().join()).isEqualTo(expected);
        assertThat(log.logStartOffset()).isEqualTo(expected);
        List<RecordBatch> after = batches(log);
        assertThat(after.get(0).baseOffset()).as("a batch boundary").isEqualTo(expected);
        long kept = after.stream().mapToLong(RecordBatch::sizeInBytes).sum();
        assertThat(kept).isGreaterThanOrEqualTo(20_000).isLessThan(20_000 + after.get(0).sizeInBytes());
        assertThat(log.applyRetention().join()).as("again: nothing more").isEqualTo(expected);

        // after deleteRecords inside a batch, the batch holding the start counts whole (as in Kafka's segment)
        log.deleteRecords(expected + 1).join();
        for (int i = 0; i < 10; i++) {
            log.appendAsLeader(batch(3, NOW), 0).join();
        }
        long next = expectedStartForSize(batches(log), 20_000, log.logStartOffset());
        assertThat(log.applyRetention().join()).isEqualTo(next);
        log.close();
    }

    @Test
    void retentionMsRemovesOldBatchesUpToTheFirstOneThatIsNot() {
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(HOUR, -1)).join();
        log.appendAsLeader(batch(2, NOW - 3 * HOUR), 0).join(); // 0-1
        log.appendAsLeader(batch(2, -1), 0).join(); // 2-3: no timestamps count as old
        log.appendAsLeader(batch(2, NOW - HOUR - 1), 0).join(); // 4-5: just beyond
        log.appendAsLeader(batch(2, NOW - HOUR), 0).join(); // 6-7: exactly retention.ms old stays (Kafka: > retentionMs)
        log.appendAsLeader(batch(2, NOW - 5 * HOUR), 0).join(); // 8-9: old, but behind a newer one
        log.appendAsLeader(batch(2, NOW + HOUR), 0).join(); // 10-11: future

        assertThat(log.applyRetention().join()).isEqualTo(6);
        clock.advance(1);
        assertThat(log.applyRetention().join()).isEqualTo(10);
        clock.advance(10 * HOUR);
        assertThat(log.applyRetention().join()).as("all old: the newest batch goes too, as Kafka's active segment")
                .isEqualTo(12);
        assertThat(log.logStartOffset()).isEqualTo(log.logEndOffset());
        assertThat(log.fetchOffsetByTimestamp(-3).join()).isEmpty();
        log.close();
    }

    @Test
    void sizeAndTimeTogetherTakeTheFurtherStart() {
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(HOUR, 3000)).join();
        for (int i = 0; i < 20; i++) {
            log.appendAsLeader(batch(2, i < 5 ? NOW - 2 * HOUR : NOW), 0).join(); // ~650 bytes each
        }
        long bySize = expectedStartForSize(batches(log), 3000, 0);
        assertThat(bySize).isGreaterThan(10);
        assertThat(log.applyRetention().join()).isEqualTo(bySize);
        log.close();
    }

    @Test
    void unlimitedRetentionRemovesNothing() {
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(-1, -1)).join();
        log.appendAsLeader(batch(2, -1), 0).join();
        log.appendAsLeader(batch(2, NOW - 1000 * HOUR), 0).join();
        assertThat(log.applyRetention().join()).isZero();
        log.close();
    }

    @Test
    void retentionTruncatesTheEpochCacheAndKeepsProducersAcrossACrash() {
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(HOUR, -1)).join();
        AppendInfo acked = log.appendAsLeader(IdempotentProducerTest.idempotent(9, 0, 0, 2, NOW - 2 * HOUR), 1).join();
        log.appendAsLeader(batch(2, NOW - 2 * HOUR), 2).join();
        log.appendAsLeader(batch(2, NOW), 3).join();
        assertThat(log.applyRetention().join()).isEqualTo(4);
        assertThat(log.leaderEpochEntries()).containsExactly(new LeaderEpochEntry(3, 4));

        KafkaPartitionLog newLeader = KafkaPartitionLog.open(store, log.streamId(), log.metaStreamId(), 1, config(HOUR, -1)).join();
        assertThat(newLeader.logStartOffset()).isEqualTo(4);
        assertThat(newLeader.appendAsLeader(IdempotentProducerTest.idempotent(9, 0, 0, 2, NOW - 2 * HOUR), 3).join().baseOffset())
                .as("a retry of the removed batch is still a duplicate").isEqualTo(acked.baseOffset());
        assertThat(newLeader.fetchOffsetByTimestamp(0).join())
                .contains(new TimestampAndOffset(NOW, 4, OptionalInt.of(3)));
        newLeader.close();
    }

    @Test
    void retentionAfterACleanRestartAndACrashUsesTheRecoveredIndexAndReadsAboutOneInterval() {
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(HOUR, -1)).join();
        for (int i = 0; i < 400; i++) { // ~140 KiB, a minute apart: the first 100 are more than an hour old after 2 h
            log.appendAsLeader(batch(1, NOW + 60_000L * i), 0).join();
        }
        long id = log.streamId();
        long metaId = log.metaStreamId();
        log.close();
        clock.advance(2 * HOUR + 60_000L * 40);

        KafkaPartitionLog reopened = KafkaPartitionLog.open(store, id, metaId, 1, config(HOUR, -1)).join();
        store.fetches.clear();
        assertThat(reopened.applyRetention().join()).isEqualTo(100);
        assertThat(store.bytesFetchedFrom(id)).as("data read by retention").isLessThanOrEqualTo(2 * INDEX_INTERVAL);
        for (int i = 400; i < 450; i++) {
            reopened.appendAsLeader(batch(1, NOW + 60_000L * i), 0).join();
        }

        // crash: a new leader, no close snapshot; the last 50 batches come from the replayed tail
        KafkaPartitionLog newLeader = KafkaPartitionLog.open(store, id, metaId, 2, config(HOUR, 30_000)).join();
        clock.advance(60_000L * 200);
        long bySize = expectedStartForSize(batches(newLeader), 30_000, newLeader.logStartOffset());
        store.fetches.clear();
        assertThat(newLeader.applyRetention().join()).isEqualTo(Math.max(300, bySize));
        assertThat(store.bytesFetchedFrom(id)).as("data read by retention").isLessThanOrEqualTo(4 * INDEX_INTERVAL);
        newLeader.close();
    }

    @Test
    void configRefusesValuesBelowMinusOne() {
        assertThatThrownBy(() -> PartitionLogConfig.builder().retentionMs(-2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("retentionMs").hasMessageContaining("-2");
        assertThatThrownBy(() -> PartitionLogConfig.builder().retentionBytes(-2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("retentionBytes");
        assertThatThrownBy(() -> PartitionLogConfig.builder().indexIntervalBytes(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("indexIntervalBytes");
        PartitionLogConfig defaults = PartitionLogConfig.defaults();
        assertThat(List.of(defaults.retentionMs(), defaults.retentionBytes(), (long) defaults.indexIntervalBytes()))
                .isEqualTo(List.of(604_800_000L, -1L, 4096L));
    }
}
