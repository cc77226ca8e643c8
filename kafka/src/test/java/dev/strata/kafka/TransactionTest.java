package dev.strata.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.core.MemoryStreamStore;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.ControlRecordType;
import org.apache.kafka.common.record.internal.EndTransactionMarker;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Transactions through the public API (memory store): transactional batches, coordinator markers
 * and their checks, the last stable offset, read_committed reads and their aborted transactions,
 * and the transactional state across restarts and deleteRecords.
 */
class TransactionTest {
    private static final long NOW = 1_750_000_000_000L;
    private static final long P1 = 11L;
    private static final long P2 = 12L;
    private static final short TV2 = 2;
    private static final short TV0 = 0;

    private final ManualClock clock = new ManualClock(NOW);
    private final MemoryStreamStore store = new MemoryStreamStore(64 * 1024, 64L << 20);

    @AfterEach
    void closeStore() {
        store.close();
    }

    private PartitionLogConfig config() {
        return PartitionLogConfig.builder().timestampType(TimestampType.CREATE_TIME).clock(clock)
                .snapshotIntervalBytes(2048).build();
    }

    private KafkaPartitionLog create() {
        return KafkaPartitionLog.create(store, 0, config()).join();
    }

    private KafkaPartitionLog reopen(KafkaPartitionLog log, long epoch) {
        return KafkaPartitionLog.open(store, log.streamId(), log.metaStreamId(), epoch, config()).join();
    }

    /** {@code count} records of producer {@code pid}, transactional, from sequence {@code seq}. */
    static MemoryRecords txn(long pid, int epoch, int seq, int count) {
        return MemoryRecords.withTransactionalRecords(Compression.NONE, pid, (short) epoch, seq, records(count, seq));
    }

    static MemoryRecords idempotent(long pid, int epoch, int seq, int count) {
        return MemoryRecords.withIdempotentRecords(Compression.NONE, pid, (short) epoch, seq, records(count, seq));
    }

    private static SimpleRecord[] records(int count, int seq) {
        SimpleRecord[] records = new SimpleRecord[count];
        for (int i = 0; i < count; i++) {
            records[i] = new SimpleRecord(NOW + i, ("v" + seq + "-" + i).getBytes());
        }
        return records;
    }

    private static Errors errorOf(CompletableFuture<?> f) {
        try {
            f.join();
        } catch (CompletionException e) {
            return ((KafkaLogException) e.getCause()).error();
        }
        throw new AssertionError("expected a failure, got " + f.join());
    }

    private static ReadResult readCommitted(KafkaPartitionLog log, long offset) {
        return Batches.detach(log.read(offset, Integer.MAX_VALUE, Isolation.TXN_COMMITTED, true).join());
    }

    /** The [base, last] offsets of the batches read. */
    private static List<List<Long>> batches(ReadResult result) {
        List<List<Long>> out = new java.util.ArrayList<>();
        result.records().batches().forEach(b -> out.add(List.of(b.baseOffset(), b.lastOffset())));
        return out;
    }

    @Test
    void anOngoingTransactionHoldsBackTheLastStableOffsetUntilItsCommitMarker() {
        KafkaPartitionLog log = create();
        log.appendAsLeader(Batches.plain(Compression.NONE, 2, 10, NOW), 0).join(); // 0-1
        assertThat(log.appendAsLeader(txn(P1, 0, 0, 3), 0).join().baseOffset()).isEqualTo(2); // 2-4
        log.appendAsLeader(Batches.plain(Compression.NONE, 1, 10, NOW), 0).join(); // 5

        assertThat(log.lastStableOffset()).isEqualTo(2);
        assertThat(log.highWatermark()).isEqualTo(6);
        ReadResult committed = readCommitted(log, 0);
        assertThat(batches(committed)).containsExactly(List.of(0L, 1L));
        assertThat(committed.lastStableOffset()).isEqualTo(2);
        assertThat(committed.highWatermark()).isEqualTo(6);
        assertThat(batches(readCommitted(log, 2))).as("at the last stable offset").isEmpty();
        assertThat(batches(readCommitted(log, 5))).as("above it").isEmpty();
        ReadResult uncommitted = Batches.detach(log.read(0, Integer.MAX_VALUE, Isolation.HIGH_WATERMARK, true).join());
        assertThat(batches(uncommitted)).hasSize(3);
        assertThat(uncommitted.lastStableOffset()).isEqualTo(2);

        assertThat(log.appendTxnMarker(P1, (short) 1, 0, true, TV2, 0).join()).isEqualTo(6);
        assertThat(log.lastStableOffset()).isEqualTo(7);
        ReadResult all = readCommitted(log, 0);
        assertThat(batches(all)).containsExactly(List.of(0L, 1L), List.of(2L, 4L), List.of(5L, 5L), List.of(6L, 6L));
        assertThat(all.abortedTransactions()).isEmpty();
        org.apache.kafka.common.record.internal.RecordBatch marker = all.records().batches().iterator().next();
        for (org.apache.kafka.common.record.internal.RecordBatch b : all.records().batches()) {
            marker = b;
        }
        assertThat(marker.isControlBatch()).isTrue();
        assertThat(marker.producerId()).isEqualTo(P1);
        assertThat(marker.producerEpoch()).isEqualTo((short) 1);
    }

    @Test
    void theLastStableOffsetIsTheOldestOngoingTransactionAcrossProducers() {
        KafkaPartitionLog log = create();
        log.appendAsLeader(txn(P1, 0, 0, 2), 0).join(); // 0-1
        log.appendAsLeader(txn(P2, 0, 0, 2), 0).join(); // 2-3
        log.appendAsLeader(txn(P1, 0, 2, 2), 0).join(); // 4-5, same transaction
        assertThat(log.lastStableOffset()).isZero();
        log.appendTxnMarker(P1, (short) 1, 0, true, TV2, 0).join(); // 6
        assertThat(log.lastStableOffset()).isEqualTo(2);
        assertThat(batches(readCommitted(log, 0))).containsExactly(List.of(0L, 1L));
        log.appendTxnMarker(P2, (short) 1, 0, false, TV2, 0).join(); // 7
        assertThat(log.lastStableOffset()).isEqualTo(8);
        assertThat(log.producerState(P1).txnFirstOffset()).isEqualTo(ProducerStateTable.NO_TXN);
    }

    @Test
    void readCommittedReadsListTheAbortedTransactionsTheyOverlap() {
        KafkaPartitionLog log = create();
        log.appendAsLeader(Batches.plain(Compression.NONE, 2, 10, NOW), 0).join(); // 0-1
        log.appendAsLeader(txn(P1, 0, 0, 2), 0).join(); // 2-3
        log.appendAsLeader(txn(P2, 0, 0, 2), 0).join(); // 4-5
        log.appendTxnMarker(P1, (short) 0, 0, false, TV0, 0).join(); // 6: abort P1
        log.appendTxnMarker(P2, (short) 0, 0, true, TV0, 0).join(); // 7: commit P2
        log.appendAsLeader(txn(P1, 0, 2, 1), 0).join(); // 8: a new transaction of P1
        log.appendTxnMarker(P1, (short) 0, 0, false, TV0, 0).join(); // 9: abort it
        log.appendAsLeader(Batches.plain(Compression.NONE, 1, 10, NOW), 0).join(); // 10
        assertThat(log.lastStableOffset()).isEqualTo(11);

        assertThat(readCommitted(log, 0).abortedTransactions())
                .containsExactly(new AbortedTransaction(P1, 2), new AbortedTransaction(P1, 8));
        assertThat(readCommitted(log, 7).abortedTransactions()).containsExactly(new AbortedTransaction(P1, 8));
        assertThat(readCommitted(log, 10).abortedTransactions()).as("after both markers").isEmpty();
        // a read that stops before a transaction begins does not list it
        int firstTwo = Batches.read(log, 0, 1, Isolation.TXN_COMMITTED, true).sizeInBytes();
        ReadResult head = Batches.detach(log.read(0, firstTwo, Isolation.TXN_COMMITTED, false).join());
        assertThat(batches(head)).containsExactly(List.of(0L, 1L));
        assertThat(head.abortedTransactions()).isEmpty();
        assertThat(Batches.detach(log.read(0, Integer.MAX_VALUE, Isolation.HIGH_WATERMARK, true).join()).abortedTransactions())
                .as("read_uncommitted").isEmpty();
    }

    @Test
    void aProducerWithAnOngoingTransactionMayOnlySendTransactionalBatches() {
        KafkaPartitionLog log = create();
        log.appendAsLeader(txn(P1, 3, 0, 1), 0).join();
        assertThat(errorOf(log.appendAsLeader(idempotent(P1, 3, 1, 1), 0))).isEqualTo(Errors.INVALID_TXN_STATE);
        // checked after the sequence: a gap is reported as such
        assertThat(errorOf(log.appendAsLeader(idempotent(P1, 3, 5, 1), 0))).isEqualTo(Errors.OUT_OF_ORDER_SEQUENCE_NUMBER);
        // a fenced (older) epoch
        assertThat(errorOf(log.appendAsLeader(txn(P1, 2, 0, 1), 0))).isEqualTo(Errors.INVALID_PRODUCER_EPOCH);
        assertThat(log.logEndOffset()).isEqualTo(1);
        // a retry of the transactional batch is a duplicate
        assertThat(log.appendAsLeader(txn(P1, 3, 0, 1), 0).join().baseOffset()).isZero();

        log.appendTxnMarker(P1, (short) 3, 0, true, TV0, 0).join(); // TV0: same epoch, sequences go on
        assertThat(log.appendAsLeader(idempotent(P1, 3, 1, 1), 0).join().baseOffset()).isEqualTo(2);
        log.appendTxnMarker(P1, (short) 4, 0, true, TV2, 0).join(); // TV2: bumped epoch, sequence 0
        assertThat(errorOf(log.appendAsLeader(txn(P1, 4, 2, 1), 0))).isEqualTo(Errors.OUT_OF_ORDER_SEQUENCE_NUMBER);
        assertThat(log.appendAsLeader(txn(P1, 4, 0, 1), 0).join().baseOffset()).isEqualTo(4);
        assertThat(log.lastStableOffset()).isEqualTo(4);
    }

    @Test
    void markersAreCheckedForTheProducerAndCoordinatorEpochs() {
        KafkaPartitionLog log = create();
        log.appendAsLeader(txn(P1, 5, 0, 1), 0).join(); // 0
        // TV2: the coordinator bumps the epoch; the data's epoch while the transaction is ongoing is stale
        assertThat(errorOf(log.appendTxnMarker(P1, (short) 5, 3, true, TV2, 0))).isEqualTo(Errors.INVALID_PRODUCER_EPOCH);
        // TV0: an older epoch is stale
        assertThat(errorOf(log.appendTxnMarker(P1, (short) 4, 3, true, TV0, 0))).isEqualTo(Errors.INVALID_PRODUCER_EPOCH);
        assertThat(log.logEndOffset()).isEqualTo(1);
        assertThat(log.appendTxnMarker(P1, (short) 6, 3, false, TV2, 0).join()).isEqualTo(1);
        // a zombie coordinator
        assertThat(errorOf(log.appendTxnMarker(P1, (short) 7, 2, false, TV2, 0)))
                .isEqualTo(Errors.TRANSACTION_COORDINATOR_FENCED);
        // TV2: a retry of the marker at the same epoch once the transaction ended is written again
        assertThat(log.appendTxnMarker(P1, (short) 6, 3, false, TV2, 0).join()).isEqualTo(2);
        assertThat(log.producerState(P1).coordinatorEpoch()).isEqualTo(3);
        // an empty transaction's marker changes neither the last stable offset nor the aborted list
        assertThat(log.appendTxnMarker(P2, (short) 0, 0, false, TV2, 0).join()).isEqualTo(3);
        assertThat(log.lastStableOffset()).isEqualTo(4);
        assertThat(readCommitted(log, 0).abortedTransactions()).containsExactly(new AbortedTransaction(P1, 0));
        assertThatThrownBy(() -> log.appendTxnMarker(P1, (short) 7, 3, true, (short) -1, 0))
                .isInstanceOf(IllegalArgumentException.class);
        // clients may not write markers themselves
        MemoryRecords clientMarker = MemoryRecords.withEndTransactionMarker(NOW, P1, (short) 7,
                new EndTransactionMarker(ControlRecordType.COMMIT, 3));
        assertThat(errorOf(log.appendAsLeader(clientMarker, 0))).isEqualTo(Errors.INVALID_RECORD);
    }

    @Test
    void aMarkerRecordsTheLeaderEpochAndTheProducersTimestamp() {
        KafkaPartitionLog log = create();
        log.appendAsLeader(txn(P1, 0, 0, 1), 2).join();
        clock.advance(5_000);
        log.appendTxnMarker(P1, (short) 1, 0, true, TV2, 4).join();
        assertThat(log.leaderEpochEntries()).containsExactly(new LeaderEpochEntry(2, 0), new LeaderEpochEntry(4, 1));
        assertThat(log.producerState(P1).lastTimestamp()).isEqualTo(NOW + 5_000);
        assertThat(log.producerState(P1).batches()).as("a new epoch drops the older batches").isEmpty();
    }

    @Test
    void aProducerWithAnOngoingTransactionDoesNotExpire() {
        KafkaPartitionLog log = create();
        log.appendAsLeader(txn(P1, 0, 0, 1), 0).join();
        log.appendAsLeader(idempotent(P2, 0, 0, 1), 0).join();
        clock.advance(config().producerIdExpirationMs() + 1);
        assertThat(log.removeExpiredProducers()).isEqualTo(1);
        assertThat(log.producerState(P1)).isNotNull();
        assertThat(log.producerState(P2)).isNull();
    }

    @Test
    void ongoingAndAbortedTransactionsSurviveACleanReopenAndACrash() {
        KafkaPartitionLog log = create();
        log.appendAsLeader(txn(P1, 0, 0, 2), 0).join(); // 0-1
        log.appendTxnMarker(P1, (short) 0, 7, false, TV0, 0).join(); // 2: aborted
        log.appendAsLeader(txn(P2, 0, 0, 2), 0).join(); // 3-4: ongoing
        log.close();

        KafkaPartitionLog reopened = reopen(log, 1);
        assertThat(reopened.lastStableOffset()).isEqualTo(3);
        assertThat(readCommitted(reopened, 0).abortedTransactions()).containsExactly(new AbortedTransaction(P1, 0));
        assertThat(reopened.producerState(P1).coordinatorEpoch()).isEqualTo(7);
        assertThat(errorOf(reopened.appendTxnMarker(P1, (short) 0, 6, true, TV0, 0)))
                .isEqualTo(Errors.TRANSACTION_COORDINATOR_FENCED);
        // more after the close snapshot, then a crash: the tail replay rebuilds it, markers included
        reopened.appendAsLeader(txn(P1, 0, 2, 1), 0).join(); // 5
        reopened.appendTxnMarker(P1, (short) 0, 8, false, TV0, 0).join(); // 6: aborted
        reopened.appendTxnMarker(P2, (short) 1, 8, true, TV2, 0).join(); // 7: committed
        reopened.appendAsLeader(txn(P2, 1, 0, 1), 0).join(); // 8: ongoing

        KafkaPartitionLog crashed = reopen(log, 2); // no close: the old one is fenced
        assertThat(crashed.lastStableOffset()).isEqualTo(8);
        assertThat(readCommitted(crashed, 0).abortedTransactions())
                .containsExactly(new AbortedTransaction(P1, 0), new AbortedTransaction(P1, 5));
        assertThat(crashed.producerState(P1).coordinatorEpoch()).isEqualTo(8);
        assertThat(crashed.producerState(P2).txnFirstOffset()).isEqualTo(8);
        assertThat(errorOf(crashed.appendAsLeader(idempotent(P2, 1, 1, 1), 0))).isEqualTo(Errors.INVALID_TXN_STATE);
        crashed.close();
    }

    @Test
    void deleteRecordsKeepsTheLastStableOffsetAtOrAboveTheLogStartAndDropsAbortedTransactionsBelowIt() {
        KafkaPartitionLog log = create();
        log.appendAsLeader(txn(P1, 0, 0, 2), 0).join(); // 0-1, aborted at 3
        log.appendAsLeader(txn(P2, 0, 0, 2), 0).join(); // 2-3... ongoing
        log.appendTxnMarker(P1, (short) 0, 0, false, TV0, 0).join(); // 4
        log.appendAsLeader(Batches.plain(Compression.NONE, 3, 10, NOW), 0).join(); // 5-7
        assertThat(log.lastStableOffset()).isEqualTo(2);
        assertThat(log.deleteRecords(4).join()).isEqualTo(4);
        assertThat(log.lastStableOffset()).as("the ongoing transaction began below the log start").isEqualTo(4);
        // the aborted transaction ends at the log start: still listed, with its first offset
        assertThat(Batches.detach(log.read(4, 1, Isolation.TXN_COMMITTED, true).join()).abortedTransactions()).isEmpty();
        log.appendTxnMarker(P2, (short) 0, 0, true, TV0, 0).join(); // 8
        assertThat(readCommitted(log, 4).abortedTransactions()).containsExactly(new AbortedTransaction(P1, 0));
        assertThat(log.deleteRecords(5).join()).isEqualTo(5);
        assertThat(readCommitted(log, 5).abortedTransactions()).isEmpty();
        log.close();
        KafkaPartitionLog reopened = reopen(log, 1);
        assertThat(reopened.lastStableOffset()).isEqualTo(9);
        assertThat(readCommitted(reopened, 5).abortedTransactions()).isEmpty();
        reopened.close();
    }

    @Test
    void aSnapshotOfVersionOneIsStillRead() {
        KafkaPartitionLog log = create();
        AppendInfo acked = log.appendAsLeader(idempotent(P1, 2, 0, 2), 3).join();
        long dataEnd = log.logEndOffset();
        ProducerStateTable.Entry state = log.producerState(P1);
        List<LeaderEpochEntry> epochs = log.leaderEpochEntries();
        log.close();
        // a snapshot as the previous version wrote it, after the close snapshot
        MetaSnapshot v1 = new MetaSnapshot(dataEnd, epochs, List.of(state), List.of(), -1);
        Stream meta = store.openStream(log.metaStreamId(), 1).join();
        for (ByteBuffer chunk : v1.toChunks(PartitionLogConfig.DEFAULT_META_CHUNK_BYTES, MetaSnapshot.VERSION_1)) {
            assertThat(chunk.getShort(4)).isEqualTo(MetaSnapshot.VERSION_1);
            meta.append(RecordBatch.of(1, chunk)).join();
        }
        meta.close().join();

        KafkaPartitionLog reopened = reopen(log, 2);
        assertThat(reopened.producerState(P1)).isEqualTo(state);
        assertThat(reopened.leaderEpochEntries()).isEqualTo(epochs);
        // a duplicate: answered with the original's offsets and its max timestamp
        assertThat(reopened.appendAsLeader(idempotent(P1, 2, 0, 2), 3).join())
                .isEqualTo(new AppendInfo(acked.baseOffset(), acked.lastOffset(), NOW + 1, 0));
        assertThat(reopened.lastStableOffset()).isEqualTo(dataEnd);
        reopened.close();
    }
}
