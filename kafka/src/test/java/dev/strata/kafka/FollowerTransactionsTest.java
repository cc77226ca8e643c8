package dev.strata.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.core.MemoryStreamStore;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.internal.ControlRecordType;
import org.apache.kafka.common.record.internal.EndTransactionMarker;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.apache.kafka.server.storage.log.FetchIsolation;
import org.apache.kafka.server.util.KafkaScheduler;
import org.apache.kafka.storage.internals.log.FetchDataInfo;
import org.apache.kafka.storage.internals.log.LogStartOffsetIncrementReason;
import org.apache.kafka.storage.internals.log.ProducerStateEntry;
import org.apache.kafka.storage.internals.log.UnifiedLog;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link KafkaPartitionLog#appendWithOffsets} of transactional batches and COMMIT/ABORT markers
 * against Kafka's own follower path ({@code UnifiedLog.appendAsFollower}): the same transactional
 * history, call by call, must give the same outcome (offsets or error), last stable offset, producer
 * state, and for reads at every offset with both isolations the same bytes and aborted transactions;
 * also after deleteRecords and after a clean reopen and a crash of this log.
 */
class FollowerTransactionsTest {
    private static final long NOW = 1_750_000_000_000L;
    private static final long P1 = 101L;
    private static final long P2 = 102L;
    private static final long P3 = 103L;
    private static final long IDEMPOTENT = 104L;

    @TempDir
    Path dir;

    private final ManualClock clock = new ManualClock(NOW);
    private final MemoryStreamStore store = new MemoryStreamStore(64 * 1024, 64L << 20);
    private KafkaScheduler scheduler;
    private UnifiedLog kafka;
    private KafkaPartitionLog ours;

    @BeforeEach
    void open() throws Exception {
        scheduler = new KafkaScheduler(1);
        scheduler.startup();
        kafka = KafkaReference.open(dir.resolve("topic-0").toFile(), clock, scheduler, 0, 0, -1);
        ours = KafkaPartitionLog.create(store, 0, config()).join();
    }

    @AfterEach
    void close() throws Exception {
        ours.close();
        kafka.close();
        scheduler.shutdown();
        store.close();
    }

    private PartitionLogConfig config() {
        // snapshots often, so that reopening loads one and replays a tail with markers in it
        return PartitionLogConfig.builder().clock(clock).snapshotIntervalBytes(600).build();
    }

    private static SimpleRecord[] records(int count, long base) {
        SimpleRecord[] out = new SimpleRecord[count];
        for (int i = 0; i < count; i++) {
            out[i] = new SimpleRecord(NOW + base + i, ("k" + i).getBytes(), ("value-" + base + "-" + i).getBytes());
        }
        return out;
    }

    private static MemoryRecords txn(long base, long pid, int producerEpoch, int seq, int count, int leaderEpoch) {
        return MemoryRecords.withTransactionalRecords(base, Compression.lz4().build(), pid, (short) producerEpoch, seq,
                leaderEpoch, records(count, base));
    }

    private static MemoryRecords idempotent(long base, long pid, int producerEpoch, int seq, int count, int leaderEpoch) {
        return MemoryRecords.withIdempotentRecords(base, Compression.NONE, pid, (short) producerEpoch, seq, leaderEpoch,
                records(count, base));
    }

    private static MemoryRecords plain(long base, int count, int leaderEpoch) {
        return MemoryRecords.withRecords(base, Compression.NONE, leaderEpoch, records(count, base));
    }

    private static MemoryRecords marker(long offset, long pid, int producerEpoch, boolean commit, int coordinatorEpoch,
                                        int leaderEpoch) {
        return MemoryRecords.withEndTransactionMarker(offset, NOW + offset, leaderEpoch, pid, (short) producerEpoch,
                new EndTransactionMarker(commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT, coordinatorEpoch));
    }

    private static MemoryRecords concat(MemoryRecords... parts) {
        int size = 0;
        for (MemoryRecords p : parts) {
            size += p.sizeInBytes();
        }
        ByteBuffer out = ByteBuffer.allocate(size);
        for (MemoryRecords p : parts) {
            out.put(p.buffer().duplicate());
        }
        return MemoryRecords.readableRecords(out.flip());
    }

    /** Appends the call to both logs; the outcomes (offsets or Kafka error) must agree; returns ours. */
    private Object follow(MemoryRecords call) throws java.io.IOException {
        Object expected;
        try {
            var info = kafka.appendAsFollower(Batches.copy(call), Integer.MAX_VALUE);
            kafka.updateHighWatermark(kafka.logEndOffset());
            expected = List.of(info.firstOffset(), info.lastOffset());
        } catch (RuntimeException e) {
            expected = Errors.forException(e);
        }
        Object actual;
        try {
            AppendInfo info = ours.appendWithOffsets(Batches.copy(call)).join();
            actual = List.of(info.baseOffset(), info.lastOffset());
        } catch (CompletionException e) {
            actual = ((KafkaLogException) e.getCause()).error();
        }
        assertThat(actual).as("outcome of a follower append at log end %d", kafka.logEndOffset()).isEqualTo(expected);
        assertAgree("after a follower append");
        return actual;
    }

    private void assertAgree(String when) {
        assertThat(List.of(ours.logStartOffset(), ours.logEndOffset(), ours.lastStableOffset()))
                .as("log start, log end, last stable offset %s", when)
                .isEqualTo(List.of(kafka.logStartOffset(), kafka.logEndOffset(), KafkaReference.lastStableOffset(kafka)));
        assertThat(ours.leaderEpochEntries()).as("leader-epoch cache %s", when).isEqualTo(kafka.leaderEpochCache()
                .epochEntries().stream().map(e -> new LeaderEpochEntry(e.epoch(), e.startOffset())).toList());
        for (long pid : List.of(P1, P2, P3, IDEMPOTENT)) {
            ProducerStateEntry theirs = kafka.producerStateManager().activeProducers().get(pid);
            ProducerStateTable.Entry mine = ours.producerState(pid);
            if (theirs == null) {
                assertThat(mine).as("producer %d %s", pid, when).isNull();
                continue;
            }
            assertThat(List.of((int) mine.epoch(), mine.coordinatorEpoch(), mine.txnFirstOffset()))
                    .as("epoch, coordinator epoch, ongoing transaction of producer %d %s", pid, when)
                    .isEqualTo(List.of((int) theirs.producerEpoch(), theirs.coordinatorEpoch(),
                            theirs.currentTxnFirstOffset().orElse(ProducerStateTable.NO_TXN)));
            assertThat(mine.batches().isEmpty() ? -1L : mine.batches().get(mine.batches().size() - 1).lastOffset())
                    .as("last batch of producer %d %s", pid, when).isEqualTo(theirs.lastDataOffset());
        }
        for (long offset = ours.logStartOffset(); offset < ours.logEndOffset(); offset++) {
            for (int maxBytes : new int[] {1, 300, Integer.MAX_VALUE}) {
                for (boolean committed : new boolean[] {true, false}) {
                    assertReadAgrees(offset, maxBytes, committed, when);
                }
            }
        }
    }

    private void assertReadAgrees(long offset, int maxBytes, boolean committed, String when) {
        FetchDataInfo info;
        try {
            info = kafka.read(offset, maxBytes, committed ? FetchIsolation.TXN_COMMITTED : FetchIsolation.HIGH_WATERMARK, true);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        ReadResult result = ours.read(offset, maxBytes, committed ? Isolation.TXN_COMMITTED : Isolation.HIGH_WATERMARK, true).join();
        String what = (committed ? "read_committed" : "read_uncommitted") + " read at " + offset + " maxBytes " + maxBytes + " " + when;
        assertThat(Batches.bytes(result.records())).as("bytes of %s", what).isEqualTo(KafkaReference.completeBatches(info.records));
        assertThat(result.abortedTransactions()).as("aborted transactions of %s", what)
                .isEqualTo(committed ? KafkaReference.abortedWithin(info) : List.of());
        assertThat(result.lastStableOffset()).as("LSO of %s", what).isEqualTo(KafkaReference.lastStableOffset(kafka));
    }

    @Test
    void aTransactionalHistoryFollowedAsKafkaFollowsItGivesKafkasStableOffsetsAndAbortedTransactions() throws Exception {
        // P1 and P2 open transactions around a plain batch: the LSO stops at P1's first offset
        follow(concat(txn(0, P1, 0, 0, 3, 1), plain(3, 2, 1), txn(5, P2, 0, 0, 2, 1)));
        assertThat(ours.lastStableOffset()).isEqualTo(0);
        // P1 aborts (TV2: bumped epoch, coordinator epoch 3): the LSO moves to P2's transaction
        follow(concat(txn(7, P1, 0, 3, 1, 1), marker(8, P1, 1, false, 3, 1)));
        assertThat(ours.lastStableOffset()).isEqualTo(5);
        // an offset gap (compaction), P2 commits, P3 begins; a new leader epoch
        follow(concat(plain(20, 2, 2), marker(22, P2, 1, true, 3, 2), txn(23, P3, 4, 0, 2, 2)));
        assertThat(ours.lastStableOffset()).isEqualTo(23);
        // a non-transactional batch from P3 during its transaction: INVALID_TXN_STATE, nothing stored
        // (Kafka has recorded the call's leader epoch by then; so has this log)
        long end = ours.logEndOffset();
        assertThat(follow(concat(plain(25, 1, 3), idempotent(26, P3, 4, 2, 1, 3)))).isEqualTo(Errors.INVALID_TXN_STATE);
        assertThat(ours.logEndOffset()).isEqualTo(end);
        // ... but accepted after P3's marker in the same call; P1 starts again at its new epoch and
        // aborts again; a marker for a producer without a transaction (empty) changes no offset
        follow(concat(marker(25, P3, 5, true, 3, 3), idempotent(26, P3, 5, 0, 1, 3), txn(27, P1, 1, 0, 2, 3),
                idempotent(29, IDEMPOTENT, 0, 0, 2, 3), marker(31, P1, 2, false, 4, 3), marker(32, P2, 2, false, 4, 3)));
        // P2 begins a transaction that stays open; older producer and coordinator epochs are not
        // checked on this path (Kafka's follower only logs them)
        follow(concat(txn(33, P2, 2, 0, 2, 3), txn(36, P1, 1, 5, 1, 3), marker(37, P1, 1, false, 1, 3)));
        assertThat(ours.lastStableOffset()).isEqualTo(33);

        // deleteRecords into the first aborted transaction
        assertThat(ours.deleteRecords(6).join()).isEqualTo(6L);
        kafka.maybeIncrementLogStartOffset(6, LogStartOffsetIncrementReason.ClientRecordDeletion);
        assertAgree("after deleteRecords(6)");

        // a clean reopen (from the close snapshot), then a crash (a new holder, no close snapshot)
        long streamId = ours.streamId();
        long metaId = ours.metaStreamId();
        ours.close();
        ours = KafkaPartitionLog.open(store, streamId, metaId, 1, config()).join();
        assertAgree("after a clean reopen");
        follow(concat(marker(38, P2, 3, false, 4, 3), txn(39, P3, 5, 1, 1, 3)));
        KafkaPartitionLog crashed = ours;
        ours = KafkaPartitionLog.open(store, streamId, metaId, 2, config()).join(); // fences the old holder
        assertAgree("after a crash");
        try {
            crashed.close();
        } catch (LogStorageException fenced) {
            // its close snapshot is refused: the new holder fenced it
        }
    }

    @Test
    void migratedTransactionsAreEndedByTheCoordinatorsMarkersAsLeader() throws Exception {
        follow(concat(txn(0, P1, 0, 0, 2, 0), txn(2, P2, 0, 0, 2, 0)));
        // after the cutover the coordinator's markers arrive at the new leader
        long abort = ours.appendTxnMarker(P1, (short) 1, 0, false, (short) 2, 1).join();
        long commit = ours.appendTxnMarker(P2, (short) 1, 0, true, (short) 2, 1).join();
        assertThat(List.of(abort, commit)).containsExactly(4L, 5L);
        assertThat(ours.lastStableOffset()).isEqualTo(6);
        assertThat(ours.read(0, Integer.MAX_VALUE, Isolation.TXN_COMMITTED, true).join().abortedTransactions())
                .containsExactly(new AbortedTransaction(P1, 0));
    }
}
