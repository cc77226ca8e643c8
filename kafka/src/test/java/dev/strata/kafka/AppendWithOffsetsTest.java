package dev.strata.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.core.MemoryStreamStore;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link KafkaPartitionLog#appendWithOffsets}: batches with their offsets already assigned (mirroring, migration). */
class AppendWithOffsetsTest {
    private static final long NOW = 1_750_000_000_000L;
    private static final long PID = 7L;

    private final ManualClock clock = new ManualClock(NOW);
    private final MemoryStreamStore store = new MemoryStreamStore(64 * 1024, 64L << 20);

    @AfterEach
    void closeStore() {
        store.close();
    }

    private KafkaPartitionLog create() {
        return KafkaPartitionLog.create(store, 0, PartitionLogConfig.builder().clock(clock).build()).join();
    }

    private static SimpleRecord[] records(int count, String tag) {
        SimpleRecord[] out = new SimpleRecord[count];
        for (int i = 0; i < count; i++) {
            out[i] = new SimpleRecord(NOW + i, ("k" + i).getBytes(), (tag + "-" + i).getBytes());
        }
        return out;
    }

    /** A stored-form batch: offsets from {@code base}, partition leader epoch {@code epoch}, no producer. */
    private static MemoryRecords plainAt(long base, int epoch, int count) {
        return MemoryRecords.withRecords(base, Compression.NONE, epoch, records(count, "p" + base));
    }

    private static MemoryRecords idempotentAt(long base, int epoch, short producerEpoch, int seq, int count) {
        return MemoryRecords.withIdempotentRecords(base, Compression.lz4().build(), PID, producerEpoch, seq, epoch,
                records(count, "i" + base));
    }

    private static MemoryRecords concat(MemoryRecords... parts) {
        int size = 0;
        for (MemoryRecords p : parts) {
            size += p.sizeInBytes();
        }
        ByteBuffer out = ByteBuffer.allocate(size);
        for (MemoryRecords p : parts) {
            out.put(p.buffer());
        }
        return MemoryRecords.readableRecords(out.flip());
    }

    private static byte[] readAll(KafkaPartitionLog log, long from) {
        return Batches.bytes(Batches.read(log, from, Integer.MAX_VALUE, Isolation.HIGH_WATERMARK, true));
    }

    private static KafkaLogException failure(CompletableFuture<?> f) {
        try {
            f.join();
        } catch (CompletionException e) {
            return (KafkaLogException) e.getCause();
        }
        throw new AssertionError("expected a failure, got " + f.join());
    }

    @Test
    void mirroredBatchesAreStoredByteForByteAndLeaderRetriesOfThemAreDuplicates() {
        KafkaPartitionLog source = create();
        List<AppendInfo> originals = new ArrayList<>();
        source.appendAsLeader(Batches.plain(Compression.gzip().build(), 3, 50, NOW), 4).join();
        for (int i = 0; i < 5; i++) {
            originals.add(source.appendAsLeader(IdempotentProducerTest.idempotent(PID, 2, 2 * i, 2, NOW), 5).join());
        }
        byte[] sourceBytes = readAll(source, 0);

        KafkaPartitionLog mirror = create();
        AppendInfo info = mirror.appendWithOffsets(MemoryRecords.readableRecords(ByteBuffer.wrap(sourceBytes.clone()))).join();

        assertThat(info).isEqualTo(new AppendInfo(0, 12, -1, 0));
        assertThat(readAll(mirror, 0)).isEqualTo(sourceBytes);
        assertThat(mirror.logEndOffset()).isEqualTo(13);
        assertThat(mirror.leaderEpochEntries()).isEqualTo(source.leaderEpochEntries());
        assertThat(mirror.producerState(PID)).isEqualTo(source.producerState(PID));
        // after migration, an idempotent producer's retries are duplicates with the original offsets
        for (int i = 0; i < 5; i++) {
            AppendInfo retry = mirror.appendAsLeader(IdempotentProducerTest.idempotent(PID, 2, 2 * i, 2, NOW), 6).join();
            assertThat(List.of(retry.baseOffset(), retry.lastOffset()))
                    .isEqualTo(List.of(originals.get(i).baseOffset(), originals.get(i).lastOffset()));
        }
        assertThat(mirror.logEndOffset()).isEqualTo(13);
        assertThat(mirror.appendAsLeader(IdempotentProducerTest.idempotent(PID, 2, 10, 1, NOW), 6).join().baseOffset())
                .isEqualTo(13);
        assertThat(failure(mirror.appendAsLeader(IdempotentProducerTest.idempotent(PID, 2, 20, 1, NOW), 6)).error())
                .isEqualTo(Errors.OUT_OF_ORDER_SEQUENCE_NUMBER);
    }

    @Test
    void aLeadersTransactionsCopiedIntoASecondLogGiveTheSameStableOffsetAndAbortedTransactions() {
        KafkaPartitionLog source = create();
        source.appendAsLeader(TransactionTest.txn(21, 0, 0, 2), 1).join();
        source.appendAsLeader(TransactionTest.txn(22, 0, 0, 1), 1).join();
        source.appendAsLeader(Batches.plain(Compression.NONE, 2, 10, NOW), 1).join();
        source.appendTxnMarker(21, (short) 1, 5, false, (short) 2, 1).join();
        source.appendAsLeader(TransactionTest.txn(21, 1, 0, 1), 2).join();
        byte[] sourceBytes = readAll(source, 0);

        KafkaPartitionLog mirror = create();
        mirror.appendWithOffsets(MemoryRecords.readableRecords(ByteBuffer.wrap(sourceBytes.clone()))).join();

        assertThat(readAll(mirror, 0)).isEqualTo(sourceBytes);
        assertThat(mirror.lastStableOffset()).isEqualTo(source.lastStableOffset()).isEqualTo(2);
        for (long pid : List.of(21L, 22L)) {
            assertThat(mirror.producerState(pid)).isEqualTo(source.producerState(pid));
        }
        source.appendTxnMarker(22, (short) 1, 5, true, (short) 2, 2).join();
        source.appendTxnMarker(21, (short) 2, 5, false, (short) 2, 2).join();
        long end = mirror.logEndOffset();
        byte[] markers = Batches.bytes(source.read(end, Integer.MAX_VALUE, Isolation.HIGH_WATERMARK, true).join().records());
        mirror.appendWithOffsets(MemoryRecords.readableRecords(ByteBuffer.wrap(markers))).join();
        assertThat(mirror.lastStableOffset()).isEqualTo(source.lastStableOffset()).isEqualTo(mirror.logEndOffset());
        for (long from = 0; from < mirror.logEndOffset(); from++) {
            assertThat(mirror.read(from, 100, Isolation.TXN_COMMITTED, true).join().abortedTransactions())
                    .as("aborted transactions of a read at %d", from)
                    .isEqualTo(source.read(from, 100, Isolation.TXN_COMMITTED, true).join().abortedTransactions());
        }
        assertThat(mirror.read(0, Integer.MAX_VALUE, Isolation.TXN_COMMITTED, true).join().abortedTransactions())
                .containsExactly(new AbortedTransaction(21, 0), new AbortedTransaction(21, 6));
    }

    /** Regression: a read that skipped a gap but returned no batch listed aborted transactions (found by the property). */
    @Test
    void aReadCommittedReadInAGapThatReturnsNoRecordsListsNoAbortedTransactions() {
        KafkaPartitionLog log = create();
        MemoryRecords txn = MemoryRecords.withTransactionalRecords(0L, Compression.NONE, PID, (short) 0, 0, 0, records(2, "t"));
        MemoryRecords after = plainAt(10, 0, 3);
        MemoryRecords abort = MemoryRecords.withEndTransactionMarker(13, NOW, 0, PID, (short) 1,
                new org.apache.kafka.common.record.internal.EndTransactionMarker(
                        org.apache.kafka.common.record.internal.ControlRecordType.ABORT, 0));
        log.appendWithOffsets(concat(txn, after, abort)).join();
        assertThat(log.lastStableOffset()).isEqualTo(14);

        ReadResult tooSmall = log.read(5, 10, Isolation.TXN_COMMITTED, false).join();
        assertThat(tooSmall.records().sizeInBytes()).isZero();
        assertThat(tooSmall.abortedTransactions()).isEmpty();
        ReadResult next = log.read(5, Integer.MAX_VALUE, Isolation.TXN_COMMITTED, false).join();
        assertThat(next.records().firstBatch().baseOffset()).isEqualTo(10);
        assertThat(next.abortedTransactions()).containsExactly(new AbortedTransaction(PID, 0));
    }

    @Test
    void forwardGapsAreSkippedByReadsAsKafkaSkipsCompactedOffsets() {
        KafkaPartitionLog log = create();
        MemoryRecords first = plainAt(100, 3, 2);
        MemoryRecords second = idempotentAt(110, 3, (short) 0, 0, 3);
        MemoryRecords third = plainAt(5_000_000_000L, 4, 1); // a gap wider than one stream batch can span
        byte[] expected = Batches.bytes(concat(Batches.copy(first), Batches.copy(second), Batches.copy(third)));

        assertThat(log.appendWithOffsets(concat(first, second)).join()).isEqualTo(new AppendInfo(100, 112, -1, 0));
        assertThat(log.appendWithOffsets(third).join()).isEqualTo(new AppendInfo(5_000_000_000L, 5_000_000_000L, -1, 0));

        assertThat(log.logStartOffset()).as("as on a Kafka follower, the start does not move").isEqualTo(0);
        assertThat(log.logEndOffset()).isEqualTo(5_000_000_001L);
        assertThat(readAll(log, 0)).isEqualTo(expected);
        assertThat(readAll(log, 103)).as("in a gap: from the next batch").isEqualTo(
                java.util.Arrays.copyOfRange(expected, first.sizeInBytes(), expected.length));
        assertThat(readAll(log, 4_000_000_000L)).isEqualTo(Batches.bytes(Batches.copy(third)));
        // maxBytes counts batches only: exactly the first batch fits
        assertThat(Batches.bytes(Batches.read(log, 0, first.sizeInBytes(), Isolation.HIGH_WATERMARK, false)))
                .isEqualTo(Batches.bytes(Batches.copy(first)));
        assertThat(log.leaderEpochEntries()).containsExactly(new LeaderEpochEntry(3, 100), new LeaderEpochEntry(4, 5_000_000_000L));
        assertThat(log.producerState(PID).batches()).containsExactly(new ProducerStateTable.BatchMeta(0, 2, 110, 112, NOW + 2));

        assertThat(log.deleteRecords(50).join()).isEqualTo(50);
        assertThat(readAll(log, 50)).isEqualTo(expected);
        long id = log.streamId();
        long metaId = log.metaStreamId();
        log.close();
        KafkaPartitionLog reopened = KafkaPartitionLog.open(store, id, metaId, 1, PartitionLogConfig.builder().clock(clock).build()).join();
        assertThat(readAll(reopened, 50)).isEqualTo(expected);
        assertThat(reopened.leaderEpochEntries()).containsExactly(new LeaderEpochEntry(3, 100), new LeaderEpochEntry(4, 5_000_000_000L));
        reopened.close();
        // rebuilt from the data stream alone, fillers included
        KafkaPartitionLog fromData = KafkaPartitionLog.open(store, id, 2, PartitionLogConfig.builder().clock(clock).build()).join();
        assertThat(fromData.leaderEpochEntries()).containsExactly(new LeaderEpochEntry(3, 100), new LeaderEpochEntry(4, 5_000_000_000L));
        assertThat(fromData.producerState(PID).batches()).containsExactly(new ProducerStateTable.BatchMeta(0, 2, 110, 112, NOW + 2));
    }

    /**
     * An append refused after it started a new leader epoch stores no batch carrying the epoch; Kafka
     * keeps the entry in its checkpoint, so must a crash here (a snapshot records it before the refusal
     * completes). Found by the differential property (seed 2217972431595216507).
     */
    @Test
    void aLeaderEpochStartedByARefusedAppendSurvivesACrash() {
        KafkaPartitionLog log = create();
        log.appendAsLeader(MemoryRecords.withIdempotentRecords(Compression.NONE, PID, (short) 0, 0, records(2, "a")), 0)
                .join();
        // epoch 3 at offset 2, by an append refused for its sequence (Kafka assigns the epoch first)
        KafkaLogException refused = failure(log.appendAsLeader(
                MemoryRecords.withIdempotentRecords(Compression.NONE, PID, (short) 0, 7, records(1, "b")), 3));
        assertThat(refused.error()).isEqualTo(Errors.OUT_OF_ORDER_SEQUENCE_NUMBER);
        log.appendWithOffsets(plainAt(20, 3, 2)).join(); // mirrored: the first stored batch of epoch 3 is at 20
        assertThat(log.leaderEpochEntries()).containsExactly(new LeaderEpochEntry(0, 0), new LeaderEpochEntry(3, 2));

        KafkaPartitionLog afterCrash = KafkaPartitionLog.open(store, log.streamId(), log.metaStreamId(), 1,
                PartitionLogConfig.builder().clock(clock).build()).join(); // no close: no snapshot at close
        assertThat(afterCrash.leaderEpochEntries()).containsExactly(new LeaderEpochEntry(0, 0), new LeaderEpochEntry(3, 2));
        afterCrash.close();
    }

    @Test
    void aBatchBelowTheLogEndOffsetOrOverlappingItsPredecessorIsRefusedAndNothingIsStored() {
        KafkaPartitionLog log = create();
        log.appendWithOffsets(plainAt(0, 0, 10)).join();

        KafkaLogException overlap = failure(log.appendWithOffsets(plainAt(9, 0, 2)));
        assertThat(overlap).isInstanceOf(UnexpectedAppendOffsetException.class);
        assertThat(overlap.error()).isEqualTo(Errors.UNKNOWN_SERVER_ERROR);
        assertThat(((UnexpectedAppendOffsetException) overlap).expectedAtLeast()).isEqualTo(10);
        assertThat(overlap.getMessage()).contains("firstOffset=9").contains("expected at least 10");
        assertThat(failure(log.appendWithOffsets(plainAt(3, 0, 1)))).isInstanceOf(UnexpectedAppendOffsetException.class);

        // within one call: the second batch must start after the first
        KafkaLogException inCall = failure(log.appendWithOffsets(concat(plainAt(10, 0, 3), plainAt(12, 0, 1))));
        assertThat(inCall).isInstanceOf(UnexpectedAppendOffsetException.class);
        assertThat(((UnexpectedAppendOffsetException) inCall).expectedAtLeast()).isEqualTo(13);
        assertThat(log.logEndOffset()).isEqualTo(10);
        assertThat(log.appendWithOffsets(plainAt(10, 0, 1)).join().baseOffset()).isEqualTo(10);
    }

    @Test
    void followerChecksRefuseDamagedOrUnsupportedBatchesAndStoreNothing() {
        KafkaPartitionLog log = create();
        MemoryRecords corrupt = plainAt(0, 0, 3);
        corrupt.buffer().put(70, (byte) (corrupt.buffer().get(70) ^ 1));
        assertThat(failure(log.appendWithOffsets(concat(plainAt(0, 0, 1), corrupt))).error()).isEqualTo(Errors.CORRUPT_MESSAGE);

        MemoryRecords v1 = MemoryRecords.withRecords(RecordBatch.MAGIC_VALUE_V1, 0L, Compression.NONE, records(1, "old"));
        assertThat(failure(log.appendWithOffsets(v1)).error()).isEqualTo(Errors.INVALID_RECORD);
        MemoryRecords noEpoch = MemoryRecords.withRecords(0L, Compression.NONE, records(1, "x"));
        assertThat(failure(log.appendWithOffsets(noEpoch)).error()).isEqualTo(Errors.INVALID_RECORD);
        assertThat(log.logEndOffset()).isEqualTo(0);

        assertThat(log.appendWithOffsets(MemoryRecords.EMPTY).join()).isEqualTo(new AppendInfo(-1, -1, -1, 0));
        // a partial batch at the end (as a fetch response may end) is dropped
        MemoryRecords whole = plainAt(0, 0, 2);
        MemoryRecords next = plainAt(2, 0, 2);
        ByteBuffer partial = ByteBuffer.allocate(whole.sizeInBytes() + 20);
        partial.put(Batches.copy(whole).buffer()).put(next.buffer().limit(20)).flip();
        assertThat(log.appendWithOffsets(MemoryRecords.readableRecords(partial)).join()).isEqualTo(new AppendInfo(0, 1, -1, 0));
        assertThat(readAll(log, 0)).isEqualTo(Batches.bytes(whole));
    }

    @Test
    void producerStateFollowsTheReplicatedBatchesWithoutChecks() {
        KafkaPartitionLog log = create();
        log.appendWithOffsets(idempotentAt(0, 0, (short) 3, 0, 2)).join();
        // a gap in sequences and an older producer epoch: Kafka's follower accepts both (origin REPLICATION)
        log.appendWithOffsets(idempotentAt(2, 0, (short) 3, 9, 1)).join();
        log.appendWithOffsets(idempotentAt(3, 0, (short) 2, 5, 1)).join();
        ProducerStateTable.Entry state = log.producerState(PID);
        assertThat(state.epoch()).isEqualTo((short) 2);
        assertThat(state.batches()).containsExactly(new ProducerStateTable.BatchMeta(5, 5, 3, 3, NOW));
        // the same batch twice is stored twice (no duplicate detection on this path)
        log.appendWithOffsets(idempotentAt(4, 0, (short) 2, 5, 1)).join();
        assertThat(log.logEndOffset()).isEqualTo(5);
    }
}
