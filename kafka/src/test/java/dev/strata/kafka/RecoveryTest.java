package dev.strata.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.core.MemoryStreamStore;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Reopen reads the newest meta-stream snapshot and only the data after it, and restores the
 * producer state and leader-epoch cache: retries of acknowledged idempotent batches stay
 * duplicates. "Crash" here = a new leader opens the streams with a higher epoch while the old log
 * is still open (no close snapshot); the store keeps every acknowledged batch.
 */
class RecoveryTest {
    private static final long NOW = 1_750_000_000_000L;
    private static final long PID = 7L;
    private static final int INTERVAL = 16 * 1024;

    private final ManualClock clock = new ManualClock(NOW);
    private final MemoryStreamStore memory = new MemoryStreamStore(64 * 1024, 256L << 20);
    private final CountingStreamStore store = new CountingStreamStore(memory);

    @AfterEach
    void closeStore() {
        store.close();
    }

    private PartitionLogConfig config(int metaChunkBytes) {
        return PartitionLogConfig.builder().timestampType(TimestampType.CREATE_TIME).clock(clock)
                .snapshotIntervalBytes(INTERVAL).metaChunkBytes(metaChunkBytes).build();
    }

    /** Appends {@code batches} idempotent batches of 4 records of ~250 bytes (about 1 KiB each) from PID, epoch 0. */
    private static List<AppendInfo> appendBatches(KafkaPartitionLog log, int firstSeq, int batches, int leaderEpoch) {
        List<AppendInfo> out = new ArrayList<>();
        for (int i = 0; i < batches; i++) {
            out.add(log.appendAsLeader(bigIdempotent(PID, 0, firstSeq + 4 * i), leaderEpoch).join());
        }
        return out;
    }

    private static org.apache.kafka.common.record.internal.MemoryRecords bigIdempotent(long pid, int epoch, int seq) {
        org.apache.kafka.common.record.internal.SimpleRecord[] records = new org.apache.kafka.common.record.internal.SimpleRecord[4];
        for (int i = 0; i < 4; i++) {
            records[i] = new org.apache.kafka.common.record.internal.SimpleRecord(NOW, new byte[250]);
        }
        return org.apache.kafka.common.record.internal.MemoryRecords.withIdempotentRecords(
                org.apache.kafka.common.compress.Compression.NONE, pid, (short) epoch, seq, records);
    }

    @Test
    void aCleanReopenReadsNoDataAndKeepsTheLastFiveBatchesOfEachProducer() {
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(PartitionLogConfig.DEFAULT_META_CHUNK_BYTES)).join();
        List<AppendInfo> acked = appendBatches(log, 0, 200, 3); // ~200 KiB: a dozen periodic snapshots
        long id = log.streamId();
        long metaId = log.metaStreamId();
        log.close();
        store.fetches.clear();

        KafkaPartitionLog reopened = KafkaPartitionLog.open(store, id, metaId, 1,
                config(PartitionLogConfig.DEFAULT_META_CHUNK_BYTES)).join();
        assertThat(store.fetchesOf(id)).as("data fetched on reopen").isEmpty();
        assertThat(store.fetchesOf(metaId)).as("meta fetched on reopen: the last snapshot only").hasSize(1);
        for (int back = 1; back <= 5; back++) {
            int i = 200 - back;
            assertThat(reopened.appendAsLeader(bigIdempotent(PID, 0, 4 * i), 3).join().baseOffset())
                    .isEqualTo(acked.get(i).baseOffset());
        }
        assertThat(reopened.logEndOffset()).isEqualTo(800);
        assertThat(reopened.leaderEpochEntries()).containsExactly(new LeaderEpochEntry(3, 0));
        reopened.close();
    }

    @Test
    void aReopenAfterACrashReplaysOnlyTheDataAfterTheNewestSnapshot() {
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(PartitionLogConfig.DEFAULT_META_CHUNK_BYTES)).join();
        List<AppendInfo> acked = appendBatches(log, 0, 150, 2);
        acked.addAll(appendBatches(log, 600, 50, 4)); // a new leader epoch at offset 600
        log.snapshotsWritten().join();
        long id = log.streamId();
        long metaId = log.metaStreamId();
        store.fetches.clear();

        KafkaPartitionLog newLeader = KafkaPartitionLog.open(store, id, metaId, 1,
                config(PartitionLogConfig.DEFAULT_META_CHUNK_BYTES)).join();
        List<CountingStreamStore.Fetch> dataFetches = store.fetchesOf(id);
        assertThat(dataFetches).as("the tail after the newest snapshot is replayed").isNotEmpty();
        long replayedFrom = dataFetches.get(0).startOffset();
        assertThat(replayedFrom).isGreaterThan(0);
        // only the tail: less than one snapshot interval (plus the batch that crossed it)
        assertThat(store.bytesFetchedFrom(id)).isLessThanOrEqualTo(INTERVAL + 1100);
        assertThat(dataFetches).allSatisfy(f -> assertThat(f.firstBatchOffset()).isGreaterThanOrEqualTo(replayedFrom));

        // every retry of the last five is still a duplicate, also those before the snapshot's offset
        for (int back = 1; back <= 5; back++) {
            int i = 200 - back;
            int seq = i < 150 ? 4 * i : 600 + 4 * (i - 150);
            assertThat(newLeader.appendAsLeader(bigIdempotent(PID, 0, seq), 4).join().baseOffset())
                    .isEqualTo(acked.get(i).baseOffset());
        }
        assertThat(newLeader.logEndOffset()).isEqualTo(800);
        assertThat(newLeader.leaderEpochEntries()).containsExactly(new LeaderEpochEntry(2, 0), new LeaderEpochEntry(4, 600));
        assertThat(newLeader.endOffsetForEpoch(2)).isEqualTo(new EpochEndOffset(2, 600));
        // and the sequence goes on where it was
        assertThat(newLeader.appendAsLeader(bigIdempotent(PID, 0, 600 + 4 * 51), 4))
                .failsWithin(java.time.Duration.ofSeconds(10))
                .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .satisfies(e -> assertThat(((KafkaLogException) e.getCause()).error()).isEqualTo(Errors.OUT_OF_ORDER_SEQUENCE_NUMBER));
        assertThat(newLeader.appendAsLeader(bigIdempotent(PID, 0, 600 + 4 * 50), 4).join().baseOffset()).isEqualTo(800);
        newLeader.close();
    }

    @Test
    void reopenReadsTheSameAmountWhateverTheRetainedDataIs() {
        long[] replayed = new long[2];
        int[] sizes = {40, 400};
        for (int run = 0; run < 2; run++) {
            KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(PartitionLogConfig.DEFAULT_META_CHUNK_BYTES)).join();
            appendBatches(log, 0, sizes[run], 0);
            log.snapshotsWritten().join();
            store.fetches.clear();
            KafkaPartitionLog reopened = KafkaPartitionLog.open(store, log.streamId(), log.metaStreamId(), 1,
                    config(PartitionLogConfig.DEFAULT_META_CHUNK_BYTES)).join();
            replayed[run] = store.bytesFetchedFrom(log.streamId());
            assertThat(replayed[run]).isLessThanOrEqualTo(INTERVAL + 1100);
            reopened.close();
        }
        // 10x the data, not 10x the reading (both tails are below one interval)
        assertThat(replayed[1]).isLessThanOrEqualTo(INTERVAL + 1100);
    }

    @Test
    void aSnapshotSpanningSeveralMetaBatchesRestoresEveryProducer() {
        int chunk = PartitionLogConfig.MIN_META_CHUNK_BYTES + 200;
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(chunk)).join();
        for (int p = 0; p < 100; p++) {
            log.appendAsLeader(IdempotentProducerTest.idempotent(1000 + p, p % 3, p, 2, NOW), 0).join();
        }
        long id = log.streamId();
        long metaId = log.metaStreamId();
        log.close();
        store.fetches.clear();

        KafkaPartitionLog reopened = KafkaPartitionLog.open(store, id, metaId, 1, config(chunk)).join();
        assertThat(store.fetchesOf(metaId).stream().mapToLong(CountingStreamStore.Fetch::bytes).sum())
                .as("the snapshot's chunks").isGreaterThan(chunk * 5L);
        assertThat(store.fetchesOf(id)).isEmpty();
        for (int p = 0; p < 100; p++) {
            assertThat(reopened.appendAsLeader(IdempotentProducerTest.idempotent(1000 + p, p % 3, p, 2, NOW), 0).join().baseOffset())
                    .isEqualTo(2L * p);
        }
        assertThat(reopened.logEndOffset()).isEqualTo(200);
        reopened.close();
    }

    @Test
    void producerStateSurvivesACrashAfterDeleteRecordsRemovedAllItsData() {
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(PartitionLogConfig.DEFAULT_META_CHUNK_BYTES)).join();
        AppendInfo acked = log.appendAsLeader(bigIdempotent(PID, 0, 0), 0).join();
        assertThat(log.deleteRecords(-1).join()).isEqualTo(4); // writes a snapshot: the data is gone
        KafkaPartitionLog newLeader = KafkaPartitionLog.open(store, log.streamId(), log.metaStreamId(), 1,
                config(PartitionLogConfig.DEFAULT_META_CHUNK_BYTES)).join();
        assertThat(newLeader.appendAsLeader(bigIdempotent(PID, 0, 0), 0).join())
                .isEqualTo(new AppendInfo(acked.baseOffset(), acked.lastOffset(), NOW, 4));
        assertThat(newLeader.logEndOffset()).isEqualTo(4);
        newLeader.close();
    }

    /**
     * A crash while a multi-chunk snapshot is written leaves its first chunks at the end of the meta
     * stream; the open uses the whole snapshot before it and replays the data after that (it failed
     * with CorruptDataException: "the meta stream does not end with a whole snapshot").
     */
    @Test
    void aSnapshotWhoseLastChunksWereNotWrittenBeforeACrashIsSkipped() {
        int chunkBytes = PartitionLogConfig.MIN_META_CHUNK_BYTES;
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config(chunkBytes)).join();
        List<AppendInfo> acked = appendBatches(log, 0, 20, 0); // one periodic snapshot at about 16 KiB
        log.snapshotsWritten().join();
        long id = log.streamId();
        long metaId = log.metaStreamId();
        // a new, bigger snapshot began: only its first chunk reached the meta stream before the crash
        MetaSnapshot partial = new MetaSnapshot(log.logEndOffset(), List.of(), List.of(), List.of(
                new AbortedTxnIndex.Entry(1, 0, 1, 2), new AbortedTxnIndex.Entry(2, 3, 4, 5),
                new AbortedTxnIndex.Entry(3, 6, 7, 8), new AbortedTxnIndex.Entry(4, 9, 10, 11)), log.timeIndexStreamId());
        List<java.nio.ByteBuffer> chunks = partial.toChunks(chunkBytes);
        assertThat(chunks).hasSizeGreaterThan(1);
        dev.strata.api.Stream meta = memory.openStream(metaId, 1).join(); // fences the old log
        meta.append(dev.strata.api.RecordBatch.of(1, chunks.get(0))).join();
        meta.close().join();

        KafkaPartitionLog newLeader = KafkaPartitionLog.open(store, id, metaId, 2, config(chunkBytes)).join();
        for (int back = 1; back <= 5; back++) { // the producer state came from the older snapshot plus the tail
            AppendInfo original = acked.get(20 - back);
            assertThat(newLeader.appendAsLeader(bigIdempotent(PID, 0, 4 * (20 - back)), 0).join())
                    .isEqualTo(new AppendInfo(original.baseOffset(), original.lastOffset(), NOW, 0));
        }
        assertThat(newLeader.logEndOffset()).isEqualTo(80);
        newLeader.close();
    }

    @Test
    void theTimeIndexComesBackFromItsStreamAndTheSameTailWithoutReadingMoreData() {
        PartitionLogConfig config = PartitionLogConfig.builder().timestampType(TimestampType.CREATE_TIME).clock(clock)
                .snapshotIntervalBytes(INTERVAL).indexIntervalBytes(2048).build();
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config).join();
        for (int i = 0; i < 200; i++) { // ~200 KiB of batches of 4 records at NOW + 10 i .. NOW + 10 i + 3
            org.apache.kafka.common.record.internal.SimpleRecord[] records = new org.apache.kafka.common.record.internal.SimpleRecord[4];
            for (int r = 0; r < 4; r++) {
                records[r] = new org.apache.kafka.common.record.internal.SimpleRecord(NOW + 10L * i + r, new byte[250]);
            }
            log.appendAsLeader(org.apache.kafka.common.record.internal.MemoryRecords.withRecords(
                    org.apache.kafka.common.compress.Compression.NONE, records), i / 50).join();
        }
        log.snapshotsWritten().join();
        long id = log.streamId();
        long metaId = log.metaStreamId();
        long indexId = log.timeIndexStreamId();
        store.fetches.clear();

        // crash: a new leader, no close snapshot
        KafkaPartitionLog newLeader = KafkaPartitionLog.open(store, id, metaId, 1, config).join();
        assertThat(store.bytesFetchedFrom(id)).as("data replayed").isLessThanOrEqualTo(INTERVAL + 1100);
        assertThat(store.fetchesOf(indexId)).as("index fetched on reopen: its last entry").hasSize(1);
        assertThat(newLeader.fetchOffsetByTimestamp(NOW + 1001).join())
                .contains(new TimestampAndOffset(NOW + 1001, 401, java.util.OptionalInt.of(2)));
        assertThat(newLeader.fetchOffsetByTimestamp(NOW + 1985).join()).as("in the replayed tail")
                .contains(new TimestampAndOffset(NOW + 1990, 796, java.util.OptionalInt.of(3)));
        assertThat(newLeader.fetchOffsetByTimestamp(-3).join())
                .contains(new TimestampAndOffset(NOW + 1993, 799, java.util.OptionalInt.of(3)));
        newLeader.close();
        store.fetches.clear();

        KafkaPartitionLog reopened = KafkaPartitionLog.open(store, id, metaId, 2, config).join();
        assertThat(store.fetchesOf(id)).as("data fetched on a clean reopen").isEmpty();
        assertThat(reopened.fetchOffsetByTimestamp(NOW + 5).join())
                .contains(new TimestampAndOffset(NOW + 10, 4, java.util.OptionalInt.of(0)));
        reopened.close();
    }
}
