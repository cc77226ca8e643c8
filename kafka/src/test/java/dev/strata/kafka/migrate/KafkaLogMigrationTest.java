package dev.strata.kafka.migrate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.core.MemoryStreamStore;
import dev.strata.kafka.AbortedTransaction;
import dev.strata.kafka.Isolation;
import dev.strata.kafka.KafkaPartitionLog;
import dev.strata.kafka.KafkaReference;
import dev.strata.kafka.LeaderEpochEntry;
import dev.strata.kafka.ManualClock;
import dev.strata.kafka.PartitionLogConfig;
import dev.strata.kafka.ReadResult;
import dev.strata.kafka.TimestampAndOffset;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.internal.ControlRecordType;
import org.apache.kafka.common.record.internal.EndTransactionMarker;
import org.apache.kafka.common.record.internal.FileRecords;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.apache.kafka.server.common.RequestLocal;
import org.apache.kafka.server.storage.log.FetchIsolation;
import org.apache.kafka.server.util.KafkaScheduler;
import org.apache.kafka.storage.internals.checkpoint.OffsetCheckpointFile;
import org.apache.kafka.storage.internals.log.AppendOrigin;
import org.apache.kafka.storage.internals.log.FetchDataInfo;
import org.apache.kafka.storage.internals.log.LogDirFailureChannel;
import org.apache.kafka.storage.internals.log.LogStartOffsetIncrementReason;
import org.apache.kafka.storage.internals.log.UnifiedLog;
import org.apache.kafka.storage.internals.log.VerificationGuard;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link KafkaLogMigration} of a real Kafka partition directory, written by Kafka's own
 * {@link UnifiedLog} (several segments; plain, idempotent and transactional batches with COMMIT and
 * ABORT markers, one transaction still open; offset gaps as compaction leaves them; a leader-epoch
 * change; deleteRecords with its checkpoint, so that the log starts inside the first kept segment):
 * read back through {@link KafkaPartitionLog} it must equal Kafka's reads (bytes and offsets at
 * every offset, both isolations, aborted transactions, LSO, offsets by timestamp, producer state);
 * a second run changes nothing; a run cut in half and continued after a crash gives the same log.
 */
class KafkaLogMigrationTest {
    private static final long NOW = 1_750_000_000_000L;
    private static final long IDEMPOTENT = 500;
    private static final long TXN_A = 600;
    private static final long TXN_B = 601;
    private static final List<Long> PRODUCERS = List.of(IDEMPOTENT, TXN_A, TXN_B);

    @TempDir
    Path tmp;

    private final ManualClock time = new ManualClock(NOW);
    private final MemoryStreamStore store = new MemoryStreamStore(256 * 1024, 256L << 20);
    private KafkaScheduler scheduler;
    private UnifiedLog kafka;
    private Path partitionDir;
    private int idempotentSeq;
    private long recordTime = NOW - 3_600_000;

    @BeforeEach
    void buildKafkaLog() throws IOException {
        scheduler = new KafkaScheduler(1);
        scheduler.startup();
        partitionDir = tmp.resolve("kafka-logs").resolve("orders-3");
        kafka = KafkaReference.open(partitionDir.toFile(), time, scheduler, 0, 0, -1);
        int leaderEpoch = 0;
        for (int i = 0; i < 4; i++) {
            leader(plain(3 + i, i % 2 == 0 ? Compression.gzip().build() : Compression.NONE), leaderEpoch);
        }
        for (int i = 0; i < 3; i++) {
            leader(idempotent(2), leaderEpoch);
        }
        kafka.roll();
        leader(txn(TXN_A, 0, 0, 2), leaderEpoch);
        leader(txn(TXN_B, 0, 0, 3), leaderEpoch);
        leader(plain(2, Compression.lz4().build()), leaderEpoch);
        leader(txn(TXN_A, 0, 2, 1), leaderEpoch);
        marker(TXN_A, 1, false, 4, leaderEpoch); // ABORT, transaction version 2 (bumped epoch)
        leader(idempotent(1), leaderEpoch);
        marker(TXN_B, 1, true, 4, leaderEpoch);
        kafka.roll();
        leaderEpoch = 3;
        // offset gaps as a compacted log has them (Kafka's follower path keeps the offsets)
        follower(MemoryRecords.withRecords(kafka.logEndOffset() + 7, Compression.NONE, leaderEpoch, records(2)));
        follower(MemoryRecords.withIdempotentRecords(kafka.logEndOffset() + 3, Compression.NONE, IDEMPOTENT, (short) 0,
                idempotentSeq, leaderEpoch, records(2)));
        idempotentSeq += 2;
        leader(txn(TXN_A, 1, 0, 2), leaderEpoch);
        leader(plain(1, Compression.zstd().build()), leaderEpoch);
        leader(txn(TXN_A, 1, 2, 2), leaderEpoch);
        marker(TXN_A, 2, false, 5, leaderEpoch);
        kafka.roll();
        leader(txn(TXN_B, 1, 0, 2), leaderEpoch); // stays open: the LSO stops here
        for (int i = 0; i < 3; i++) {
            leader(plain(2 + i, Compression.snappy().build()), leaderEpoch);
        }
        // deleteRecords into the second segment; the first segment goes
        long start = kafka.logSegments().get(1).baseOffset() + 3;
        kafka.maybeIncrementLogStartOffset(start, LogStartOffsetIncrementReason.ClientRecordDeletion);
        kafka.deleteOldSegments();
        kafka.flush(true);
        // what Kafka's LogManager keeps in the log directory
        new OffsetCheckpointFile(partitionDir.getParent().resolve(KafkaPartitionDir.LOG_START_OFFSET_CHECKPOINT).toFile(),
                new LogDirFailureChannel(1)).write(Map.of(new TopicPartition("orders", 3), start));
        assertThat(kafka.logSegments()).hasSize(3);
        assertThat(kafka.logStartOffset()).isGreaterThan(kafka.logSegments().get(0).baseOffset());
        assertThat(kafka.lastStableOffset()).isLessThan(kafka.logEndOffset());
    }

    @AfterEach
    void close() throws InterruptedException {
        kafka.close();
        scheduler.shutdown();
        store.close();
    }

    private SimpleRecord[] records(int count) {
        SimpleRecord[] out = new SimpleRecord[count];
        for (int i = 0; i < count; i++) {
            recordTime += 1000 + (i % 3 == 0 ? -1700 : 0); // not monotone, as producers' clocks
            out[i] = new SimpleRecord(recordTime, ("key-" + i).getBytes(StandardCharsets.UTF_8),
                    ("value-" + recordTime + "-" + "x".repeat(i * 7)).getBytes(StandardCharsets.UTF_8));
        }
        return out;
    }

    private MemoryRecords plain(int count, Compression compression) {
        return MemoryRecords.withRecords(compression, records(count));
    }

    private MemoryRecords idempotent(int count) {
        MemoryRecords r = MemoryRecords.withIdempotentRecords(Compression.NONE, IDEMPOTENT, (short) 0, idempotentSeq, records(count));
        idempotentSeq += count;
        return r;
    }

    private MemoryRecords txn(long pid, int epoch, int seq, int count) {
        return MemoryRecords.withTransactionalRecords(Compression.lz4().build(), pid, (short) epoch, seq, records(count));
    }

    private void leader(MemoryRecords records, int leaderEpoch) throws IOException {
        kafka.appendAsLeader(records, leaderEpoch);
        kafka.updateHighWatermark(kafka.logEndOffset());
    }

    private void follower(MemoryRecords records) throws IOException {
        kafka.appendAsFollower(records, Integer.MAX_VALUE);
        kafka.updateHighWatermark(kafka.logEndOffset());
    }

    private void marker(long pid, int epoch, boolean commit, int coordinatorEpoch, int leaderEpoch) throws IOException {
        kafka.appendAsLeader(MemoryRecords.withEndTransactionMarker(time.milliseconds(), pid, (short) epoch,
                        new EndTransactionMarker(commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT, coordinatorEpoch)),
                leaderEpoch, AppendOrigin.COORDINATOR, RequestLocal.noCaching(), VerificationGuard.SENTINEL, (short) 2);
        kafka.updateHighWatermark(kafka.logEndOffset());
    }

    private KafkaPartitionLog newTarget() {
        return KafkaPartitionLog.create(store, 0, config()).join();
    }

    private PartitionLogConfig config() {
        // Kafka's clock: producers expire by it (producer.id.expiration.ms, a day) as in Kafka
        return PartitionLogConfig.builder().clock(time).snapshotIntervalBytes(2048).indexIntervalBytes(300).build();
    }

    /** Every batch of the log from its start, as consumers read it. */
    private static byte[] readAll(KafkaPartitionLog log) {
        return readAll(log, log.logStartOffset());
    }

    private static byte[] readAll(KafkaPartitionLog log, long from) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long next = from;
        while (next < log.logEndOffset()) {
            MemoryRecords records = log.read(next, 1 << 20, Isolation.HIGH_WATERMARK, true).join().records();
            if (records.sizeInBytes() == 0) {
                break;
            }
            for (RecordBatch b : records.batches()) {
                next = b.lastOffset() + 1;
            }
            ByteBuffer buf = records.buffer();
            byte[] bytes = new byte[buf.remaining()];
            buf.get(bytes);
            out.writeBytes(bytes);
        }
        return out.toByteArray();
    }

    /** Kafka's batches from its log start offset (reads stop at segment ends: read until the end). */
    private byte[] kafkaReadAll() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long next = kafka.logStartOffset();
        while (next < kafka.logEndOffset()) {
            FetchDataInfo info = kafka.read(next, 1 << 20, FetchIsolation.HIGH_WATERMARK, true);
            byte[] bytes = KafkaReference.completeBatches(info.records);
            if (bytes.length == 0) {
                break;
            }
            for (RecordBatch b : MemoryRecords.readableRecords(ByteBuffer.wrap(bytes)).batches()) {
                next = b.lastOffset() + 1;
            }
            out.writeBytes(bytes);
        }
        return out.toByteArray();
    }

    private void assertSameAsKafka(KafkaPartitionLog ours) throws IOException {
        assertThat(List.of(ours.logStartOffset(), ours.logEndOffset(), ours.lastStableOffset()))
                .as("log start, log end, last stable offset")
                .isEqualTo(List.of(kafka.logStartOffset(), kafka.logEndOffset(), KafkaReference.lastStableOffset(kafka)));
        assertThat(readAll(ours)).as("every batch from the log start").isEqualTo(kafkaReadAll());
        for (long offset = ours.logStartOffset(); offset < ours.logEndOffset(); offset++) {
            for (boolean committed : new boolean[] {false, true}) {
                FetchDataInfo theirs = kafka.read(offset, 1, committed ? FetchIsolation.TXN_COMMITTED : FetchIsolation.HIGH_WATERMARK, true);
                ReadResult mine = ours.read(offset, 1, committed ? Isolation.TXN_COMMITTED : Isolation.HIGH_WATERMARK, true).join();
                String what = (committed ? "read_committed" : "read_uncommitted") + " read at " + offset;
                ByteBuffer mineBytes = mine.records().buffer();
                byte[] b = new byte[mineBytes.remaining()];
                mineBytes.get(b);
                assertThat(b).as("bytes of %s", what).isEqualTo(KafkaReference.completeBatches(theirs.records));
                List<AbortedTransaction> expectedAborted = committed ? KafkaReference.abortedWithin(theirs) : List.of();
                assertThat(mine.abortedTransactions()).as("aborted transactions of %s", what).isEqualTo(expectedAborted);
            }
        }
        List<Long> timestamps = new ArrayList<>(List.of(-2L, -1L, 0L, NOW - 10 * 3_600_000L, NOW + 3_600_000L));
        for (RecordBatch b : MemoryRecords.readableRecords(ByteBuffer.wrap(kafkaReadAll())).batches()) {
            b.forEach(r -> {
                timestamps.add(r.timestamp());
                timestamps.add(r.timestamp() + 1);
            });
        }
        for (long ts : timestamps) {
            assertThat(describe(ours.fetchOffsetByTimestamp(ts).join())).as("offset for timestamp %d", ts)
                    .isEqualTo(describeKafka(kafka.fetchOffsetByTimestamp(ts, Optional.empty()).timestampAndOffsetOpt()));
        }
        Optional<FileRecords.TimestampAndOffset> max = kafka.fetchOffsetByTimestamp(-3, Optional.empty()).timestampAndOffsetOpt();
        if (max.isPresent() && max.get().offset >= kafka.logStartOffset()) { // else difference 6 of the README
            assertThat(describe(ours.fetchOffsetByTimestamp(-3).join())).as("max timestamp").isEqualTo(describeKafka(max));
        }
        for (long pid : PRODUCERS) {
            assertThat(KafkaReference.producerView(ours, pid)).as("state of producer %d", pid)
                    .isEqualTo(KafkaReference.producerView(kafka, pid));
        }
        assertThat(ours.leaderEpochEntries()).as("leader-epoch cache").isEqualTo(kafka.leaderEpochCache().epochEntries()
                .stream().map(e -> new LeaderEpochEntry(e.epoch(), e.startOffset())).toList());
    }

    private static String describe(Optional<TimestampAndOffset> answer) {
        return answer.map(a -> a.timestamp() + "@" + a.offset() + " epoch " + a.leaderEpoch()).orElse("none");
    }

    private static String describeKafka(Optional<FileRecords.TimestampAndOffset> answer) {
        return answer.map(a -> a.timestamp + "@" + a.offset + " epoch "
                + a.leaderEpoch.map(e -> java.util.OptionalInt.of(e)).orElse(java.util.OptionalInt.empty())).orElse("none");
    }

    @Test
    void aMigratedPartitionReadsAsKafkaReadsItAndASecondRunChangesNothing() throws IOException {
        KafkaPartitionDir source = KafkaPartitionDir.open(partitionDir);
        assertThat(List.of(source.logStartOffset(), source.logEndOffset()))
                .isEqualTo(List.of(kafka.logStartOffset(), kafka.logEndOffset()));
        KafkaPartitionLog target = newTarget();

        MigrationSummary summary = KafkaLogMigration.migrate(source, target, MigrationOptions.DEFAULTS.withMaxCallBytes(700));

        long[] expected = sourceTotals(source, kafka.logSegments().get(0).baseOffset());
        assertThat(summary).isEqualTo(new MigrationSummary(expected[0], expected[1], expected[2],
                kafka.logSegments().get(0).baseOffset(), expected[3], 0, kafka.logStartOffset(), kafka.logEndOffset(), true));
        assertSameAsKafka(target);
        VerificationReport report = MigrationVerifier.verify(source, target);
        assertThat(report.ok()).as("%s", report).isTrue();
        long[] retained = sourceTotals(source, source.logStartOffset());
        assertThat(List.of(report.batches(), report.records(), report.bytes(), report.lastOffset()))
                .isEqualTo(List.of(retained[0], retained[1], retained[2], retained[3]));

        byte[] before = readAll(target, target.logStartOffset());
        MigrationSummary again = KafkaLogMigration.migrate(source, target, MigrationOptions.DEFAULTS);
        assertThat(again).isEqualTo(new MigrationSummary(0, 0, 0, -1, -1, kafka.logEndOffset(), kafka.logStartOffset(),
                kafka.logEndOffset(), true));
        assertThat(readAll(target)).isEqualTo(before);
        assertSameAsKafka(target);

        // after a restart of the target too
        long id = target.streamId();
        long metaId = target.metaStreamId();
        target.close();
        KafkaPartitionLog reopened = KafkaPartitionLog.open(store, id, metaId, 1, config()).join();
        assertSameAsKafka(reopened);
        reopened.close();
    }

    /** batches, records, bytes, last offset of the source's batches whose last offset is at or above {@code from}. */
    private static long[] sourceTotals(KafkaPartitionDir source, long from) {
        long[] t = new long[4];
        source.forEachBatch(from, b -> {
            t[0]++;
            t[1] += b.countOrNull();
            t[2] += b.sizeInBytes();
            t[3] = b.lastOffset();
            return true;
        });
        return t;
    }

    @Test
    void aMigrationCutShortAndContinuedAfterACrashGivesTheSameLog() throws IOException {
        KafkaPartitionDir source = KafkaPartitionDir.open(partitionDir);
        KafkaPartitionLog whole = newTarget();
        KafkaLogMigration.migrate(source, whole, MigrationOptions.DEFAULTS);
        long total = sourceTotals(source, 0)[0];

        KafkaPartitionLog first = newTarget();
        MigrationSummary part = KafkaLogMigration.migrate(source, first, MigrationOptions.DEFAULTS.withMaxBatches(total / 2));
        assertThat(part.batches()).isEqualTo(total / 2);
        assertThat(part.complete()).isFalse();
        assertThat(part.logStartOffset()).as("the start moves only once all is in").isEqualTo(0);
        assertThat(MigrationVerifier.verify(source, first).ok()).isFalse();
        // a crash: the next run opens the streams with a higher epoch (no close, no close snapshot)
        KafkaPartitionLog resumed = KafkaPartitionLog.open(store, first.streamId(), first.metaStreamId(), 1, config()).join();
        MigrationSummary rest = KafkaLogMigration.migrate(source, resumed, MigrationOptions.DEFAULTS.withMaxCallBytes(300));

        assertThat(rest.resumedAt()).isEqualTo(part.lastOffset() + 1);
        assertThat(rest.batches()).isEqualTo(total - total / 2);
        assertThat(rest.complete()).isTrue();
        assertThat(readAll(resumed)).isEqualTo(readAll(whole));
        assertSameAsKafka(resumed);
        assertThat(MigrationVerifier.verify(source, resumed).ok()).isTrue();
    }

    @Test
    void aTargetHoldingOtherDataIsRefusedAndVerifyNamesTheDifferences() throws IOException {
        KafkaPartitionDir source = KafkaPartitionDir.open(partitionDir);
        KafkaPartitionLog other = newTarget();
        long firstBase = source.segmentBaseOffsets().get(0);
        // a batch [0, first segment base]: its end lies inside the source's first batch (two offsets)
        other.appendWithOffsets(MemoryRecords.withRecords(0, Compression.NONE, 0, recordsOf((int) firstBase + 1))).join();
        assertThatThrownBy(() -> KafkaLogMigration.migrate(source, other, MigrationOptions.DEFAULTS))
                .isInstanceOf(MigrationException.class)
                .hasMessageContaining("lies inside source batch [" + firstBase);

        KafkaPartitionLog partial = newTarget();
        KafkaLogMigration.migrate(source, partial, MigrationOptions.DEFAULTS.withMaxBatches(3));
        VerificationReport report = MigrationVerifier.verify(source, partial);
        assertThat(report.ok()).isFalse();
        assertThat(report.examples()).anyMatch(e -> e.startsWith("log start offset: source " + source.logStartOffset()))
                .anyMatch(e -> e.startsWith("log end offset: source " + source.logEndOffset()))
                .anyMatch(e -> e.contains("is missing from the target"));
    }

    private static SimpleRecord[] recordsOf(int count) {
        SimpleRecord[] out = new SimpleRecord[count];
        for (int i = 0; i < count; i++) {
            out[i] = new SimpleRecord(NOW, null, new byte[] {(byte) i});
        }
        return out;
    }

    @Test
    void theEndOfASourceWhoseDataWasAllDeletedCarriesOver() throws IOException {
        long end = kafka.logEndOffset();
        kafka.roll();
        kafka.maybeIncrementLogStartOffset(end, LogStartOffsetIncrementReason.ClientRecordDeletion);
        kafka.deleteOldSegments();
        kafka.flush(true);
        KafkaPartitionDir source = KafkaPartitionDir.open(partitionDir).withLogStartOffset(end);
        assertThat(source.segmentBaseOffsets()).containsExactly(end);

        KafkaPartitionLog target = newTarget();
        MigrationSummary summary = KafkaLogMigration.migrate(source, target, MigrationOptions.DEFAULTS);

        assertThat(summary.batches()).isZero();
        assertThat(List.of(target.logStartOffset(), target.logEndOffset())).containsExactly(end, end);
        assertThat(target.read(end, 100, Isolation.HIGH_WATERMARK, true).join().records().sizeInBytes()).isZero();
        assertThat(MigrationVerifier.verify(source, target).ok()).isTrue();
        // the next produced batch continues at Kafka's offset
        assertThat(target.appendAsLeader(MemoryRecords.withRecords(Compression.NONE, recordsOf(1)), 0).join().baseOffset())
                .isEqualTo(end);
    }

    @Test
    void theCommandLineCreatesThenContinuesAndVerifies() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        KafkaLogMigration.Args create = KafkaLogMigration.parse(new String[] {"--kafka-dir", partitionDir.toString(),
                "--data-dir", tmp.resolve("strata").toString()});
        assertThat(KafkaLogMigration.run(create, store, new PrintStream(out, true, StandardCharsets.UTF_8))).isTrue();
        String printed = out.toString(StandardCharsets.UTF_8);
        assertThat(printed).contains("created the partition log: --stream-id 1 --meta-stream-id 2").contains("complete")
                .contains("verified: ");

        out.reset();
        KafkaLogMigration.Args again = KafkaLogMigration.parse(new String[] {"--kafka-dir", partitionDir.toString(),
                "--data-dir", tmp.resolve("strata").toString(), "--stream-id", "1", "--meta-stream-id", "2", "--epoch", "1"});
        assertThat(KafkaLogMigration.run(again, store, new PrintStream(out, true, StandardCharsets.UTF_8))).isTrue();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("migrated 0 batches").contains("verified: ");

        assertThatThrownBy(() -> KafkaLogMigration.parse(new String[] {"--kafka-dir", "x"}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--data-dir");
        assertThatThrownBy(() -> KafkaLogMigration.parse(new String[] {"--kafka-dir", "x", "--data-dir", "y", "--stream-id", "1"}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--meta-stream-id");
        assertThatThrownBy(() -> KafkaLogMigration.parse(new String[] {"--kafka-dir", "x", "--data-dir", "y", "--epoch", "-1"}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--epoch must be an integer >= 0, got -1");
    }

    @Test
    void notAPartitionDirectoryOrAnUnfinishedCompactionIsRefused() throws IOException {
        assertThatThrownBy(() -> KafkaPartitionDir.open(tmp)).isInstanceOf(MigrationException.class)
                .hasMessageContaining("not a Kafka partition directory");
        Files.createFile(partitionDir.resolve("00000000000000000000.log.swap"));
        assertThatThrownBy(() -> KafkaPartitionDir.open(partitionDir)).isInstanceOf(MigrationException.class)
                .hasMessageContaining("unfinished compaction");
    }
}
