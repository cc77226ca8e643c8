package dev.strata.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.core.MemoryStreamStore;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MutableRecordBatch;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class KafkaPartitionLogTest {
    private static final long NOW = 1_750_000_000_000L;

    private final ManualClock clock = new ManualClock(NOW);
    private final MemoryStreamStore store = new MemoryStreamStore(64 * 1024, 64L << 20);

    @AfterEach
    void closeStore() {
        store.close();
    }

    private KafkaPartitionLog create(TimestampType type) {
        return KafkaPartitionLog.create(store, 0, PartitionLogConfig.builder()
                .timestampType(type).maxMessageBytes(16 * 1024).clock(clock).build()).join();
    }

    private static Errors errorOf(CompletableFuture<?> f) {
        try {
            f.join();
        } catch (CompletionException e) {
            assertThat(e.getCause()).isInstanceOf(KafkaLogException.class);
            return ((KafkaLogException) e.getCause()).error();
        }
        throw new AssertionError("expected a failure, got " + f.join());
    }

    private static KafkaLogException failure(CompletableFuture<?> f) {
        return (KafkaLogException) f.handle((x, t) -> t instanceof CompletionException ? t.getCause() : t).join();
    }

    private static List<MutableRecordBatch> batches(MemoryRecords records) {
        List<MutableRecordBatch> out = new ArrayList<>();
        records.batches().forEach(out::add);
        return out;
    }

    @Test
    void appendAssignsContiguousOffsetsStampsEpochAndReadsBackTheSameBytes() {
        KafkaPartitionLog log = create(TimestampType.CREATE_TIME);
        MemoryRecords first = Batches.plain(Compression.NONE, 3, 10, NOW);
        MemoryRecords second = Batches.plain(Compression.lz4().build(), 5, 100, NOW);

        AppendInfo a = log.appendAsLeader(first, 7).join();
        AppendInfo b = log.appendAsLeader(second, 8).join();

        assertThat(a).isEqualTo(new AppendInfo(0, 2, -1, 0));
        assertThat(b).isEqualTo(new AppendInfo(3, 7, -1, 0));
        assertThat(log.logEndOffset()).isEqualTo(8);
        assertThat(log.highWatermark()).isEqualTo(8);

        ReadResult read = Batches.detach(log.read(0, 1 << 20, Isolation.HIGH_WATERMARK, false).join());
        List<MutableRecordBatch> got = batches(read.records());
        assertThat(got).hasSize(2);
        assertThat(got.get(0).baseOffset()).isEqualTo(0);
        assertThat(got.get(0).partitionLeaderEpoch()).isEqualTo(7);
        assertThat(got.get(1).baseOffset()).isEqualTo(3);
        assertThat(got.get(1).lastOffset()).isEqualTo(7);
        assertThat(got.get(1).partitionLeaderEpoch()).isEqualTo(8);
        assertThat(got.get(1).maxTimestamp()).isEqualTo(NOW + 4);
        got.forEach(MutableRecordBatch::ensureValid);
        // stored byte for byte as stamped in the caller's buffer
        byte[] both = new byte[first.sizeInBytes() + second.sizeInBytes()];
        ByteBuffer.wrap(both).put(first.buffer()).put(second.buffer());
        assertThat(Batches.bytes(read.records())).isEqualTo(both);
        assertThat(read.highWatermark()).isEqualTo(8);
        assertThat(read.logStartOffset()).isEqualTo(0);
    }

    @Test
    void logAppendTimeOverwritesTheBatchTimestampWithTheClock() {
        KafkaPartitionLog log = create(TimestampType.LOG_APPEND_TIME);
        clock.advance(5);
        AppendInfo info = log.appendAsLeader(Batches.plain(Compression.zstd().build(), 4, 50, 1234), 0).join();
        assertThat(info.logAppendTimeMs()).isEqualTo(NOW + 5);
        MutableRecordBatch stored = batches(Batches.read(log, 0, 1 << 20, Isolation.HIGH_WATERMARK, true)).get(0);
        assertThat(stored.timestampType()).isEqualTo(TimestampType.LOG_APPEND_TIME);
        assertThat(stored.maxTimestamp()).isEqualTo(NOW + 5);
        stored.ensureValid();
        stored.forEach(r -> assertThat(r.timestamp()).isEqualTo(NOW + 5));
    }

    @Test
    void damagedCrcFailsWithCorruptMessage() {
        KafkaPartitionLog log = create(TimestampType.CREATE_TIME);
        MemoryRecords records = Batches.plain(Compression.NONE, 2, 10, NOW);
        ByteBuffer buf = records.buffer();
        int last = buf.limit() - 1;
        buf.put(last, (byte) (buf.get(last) ^ 1));
        assertThat(errorOf(log.appendAsLeader(MemoryRecords.readableRecords(buf), 0))).isEqualTo(Errors.CORRUPT_MESSAGE);
        assertThat(log.logEndOffset()).isZero();
    }

    @Test
    void batchWithNonZeroBaseOffsetFailsWithInvalidRecord() {
        KafkaPartitionLog log = create(TimestampType.CREATE_TIME);
        MemoryRecords records = MemoryRecords.withRecords(5L, Compression.NONE, new SimpleRecord(NOW, "v".getBytes()));
        assertThat(errorOf(log.appendAsLeader(records, 0))).isEqualTo(Errors.INVALID_RECORD);
    }

    @Test
    void batchAboveMaxMessageBytesFailsWithMessageTooLarge() {
        KafkaPartitionLog log = create(TimestampType.CREATE_TIME);
        assertThat(errorOf(log.appendAsLeader(Batches.plain(Compression.NONE, 2, 10_000, NOW), 0)))
                .isEqualTo(Errors.MESSAGE_TOO_LARGE);
    }

    @Test
    void batchAboveTheStoresLimitFailsWithMessageTooLargeAndTheLogKeepsAppending() {
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, PartitionLogConfig.builder()
                .maxMessageBytes(1 << 20).clock(clock).build()).join();
        assertThat(errorOf(log.appendAsLeader(Batches.plain(Compression.NONE, 2, 40_000, NOW), 0)))
                .isEqualTo(Errors.MESSAGE_TOO_LARGE);
        assertThat(log.appendAsLeader(Batches.plain(Compression.NONE, 2, 10, NOW), 0).join().baseOffset()).isZero();
    }

    @Test
    void oldMagicAndSeveralBatchesFailWithInvalidRecord() {
        KafkaPartitionLog log = create(TimestampType.CREATE_TIME);
        MemoryRecords v1 = MemoryRecords.withRecords(RecordBatch.MAGIC_VALUE_V1, Compression.NONE, new SimpleRecord(NOW, "v".getBytes()));
        assertThat(errorOf(log.appendAsLeader(v1, 0))).isEqualTo(Errors.INVALID_RECORD);

        MemoryRecords a = Batches.plain(Compression.NONE, 1, 10, NOW);
        MemoryRecords b = Batches.plain(Compression.NONE, 1, 10, NOW);
        ByteBuffer two = ByteBuffer.allocate(a.sizeInBytes() + b.sizeInBytes()).put(a.buffer()).put(b.buffer()).flip();
        assertThat(errorOf(log.appendAsLeader(MemoryRecords.readableRecords(two), 0))).isEqualTo(Errors.INVALID_RECORD);
        assertThat(errorOf(log.appendAsLeader(MemoryRecords.EMPTY, 0))).isEqualTo(Errors.INVALID_RECORD);
    }

    @Test
    void createTimeTooFarInTheFutureFailsWithInvalidTimestampNamingTheRecords() {
        KafkaPartitionLog log = create(TimestampType.CREATE_TIME);
        CompletableFuture<AppendInfo> f = log.appendAsLeader(Batches.plain(Compression.NONE, 3, 10, NOW + 3_600_000L - 1), 0);
        assertThat(errorOf(f)).isEqualTo(Errors.INVALID_TIMESTAMP);
        InvalidBatchTimestampException e = (InvalidBatchTimestampException) failure(f);
        assertThat(e.recordErrors()).extracting(err -> err.batchIndex).containsExactly(2); // NOW + 1h + 1
    }

    @Test
    void readsOutsideTheLogFailWithOffsetOutOfRangeAndAtTheEndReturnNothing() {
        KafkaPartitionLog log = create(TimestampType.CREATE_TIME);
        log.appendAsLeader(Batches.plain(Compression.NONE, 3, 10, NOW), 0).join();
        assertThat(errorOf(log.read(4, 100, Isolation.HIGH_WATERMARK, true))).isEqualTo(Errors.OFFSET_OUT_OF_RANGE);
        assertThat(Batches.read(log, 3, 100, Isolation.HIGH_WATERMARK, true).sizeInBytes()).isZero();
        log.deleteRecords(1).join();
        assertThat(errorOf(log.read(0, 100, Isolation.HIGH_WATERMARK, true))).isEqualTo(Errors.OFFSET_OUT_OF_RANGE);
    }

    @Test
    void readInTheMiddleOfABatchReturnsTheWholeBatchAndMaxBytesCountsWholeBatches() {
        KafkaPartitionLog log = create(TimestampType.CREATE_TIME);
        MemoryRecords a = Batches.plain(Compression.NONE, 4, 100, NOW);
        int size = a.sizeInBytes();
        log.appendAsLeader(a, 0).join();
        log.appendAsLeader(Batches.plain(Compression.NONE, 4, 100, NOW), 0).join();

        List<MutableRecordBatch> mid = batches(Batches.read(log, 2, size, Isolation.TXN_COMMITTED, false));
        assertThat(mid).extracting(RecordBatch::baseOffset).containsExactly(0L);
        assertThat(batches(Batches.read(log, 2, 2 * size, Isolation.HIGH_WATERMARK, false)))
                .extracting(RecordBatch::baseOffset).containsExactly(0L, 4L);
        // a first batch larger than maxBytes: only with minOneMessage
        assertThat(Batches.read(log, 5, size - 1, Isolation.HIGH_WATERMARK, false).sizeInBytes()).isZero();
        assertThat(batches(Batches.read(log, 5, 0, Isolation.HIGH_WATERMARK, true)))
                .extracting(RecordBatch::baseOffset).containsExactly(4L);
    }

    @Test
    void deleteRecordsKeepsTheExactStartOffsetAndRefusesBeyondTheHighWatermark() {
        KafkaPartitionLog log = create(TimestampType.CREATE_TIME);
        log.appendAsLeader(Batches.plain(Compression.NONE, 4, 10, NOW), 0).join();
        log.appendAsLeader(Batches.plain(Compression.NONE, 4, 10, NOW), 0).join();

        assertThat(log.deleteRecords(5).join()).isEqualTo(5);
        assertThat(log.logStartOffset()).isEqualTo(5);
        assertThat(log.offsetForTimestamp(-2).join()).isEqualTo(5);
        assertThat(log.offsetForTimestamp(-1).join()).isEqualTo(8);
        assertThat(log.deleteRecords(2).join()).isEqualTo(5); // below: no change
        assertThat(batches(Batches.read(log, 5, 1 << 20, Isolation.HIGH_WATERMARK, true)))
                .extracting(RecordBatch::baseOffset).containsExactly(4L);
        assertThat(errorOf(log.deleteRecords(9))).isEqualTo(Errors.OFFSET_OUT_OF_RANGE);
        assertThat(errorOf(log.deleteRecords(-2))).isEqualTo(Errors.OFFSET_OUT_OF_RANGE);
        assertThat(log.deleteRecords(-1).join()).isEqualTo(8); // -1: up to the high watermark
        assertThat(log.offsetForTimestamp(NOW).join()).isEqualTo(-1); // every record was deleted
    }

    @Test
    void reopenedLogKeepsItsOffsetsAndContinuesFromTheEnd() {
        KafkaPartitionLog log = create(TimestampType.CREATE_TIME);
        log.appendAsLeader(Batches.plain(Compression.NONE, 4, 10, NOW), 0).join();
        log.deleteRecords(3).join();
        long id = log.streamId();
        log.close();

        // from the data stream alone (the form without the meta stream id)
        KafkaPartitionLog reopened = KafkaPartitionLog.open(store, id, 1, PartitionLogConfig.defaults()).join();
        assertThat(reopened.metaStreamId()).isEqualTo(-1);
        assertThat(reopened.logStartOffset()).isEqualTo(3);
        assertThat(reopened.logEndOffset()).isEqualTo(4);
        assertThat(reopened.appendAsLeader(Batches.plain(Compression.NONE, 2, 10, System.currentTimeMillis()), 1)
                .join().baseOffset()).isEqualTo(4);
    }

    @Test
    void appendsAfterANewLeaderOpenedTheStreamFailWithNotLeaderOrFollower() {
        KafkaPartitionLog oldLeader = create(TimestampType.CREATE_TIME);
        oldLeader.appendAsLeader(Batches.plain(Compression.NONE, 1, 10, NOW), 0).join();
        KafkaPartitionLog newLeader = KafkaPartitionLog.open(store, oldLeader.streamId(), oldLeader.metaStreamId(), 1,
                PartitionLogConfig.builder().clock(clock).build()).join();

        assertThat(errorOf(oldLeader.appendAsLeader(Batches.plain(Compression.NONE, 1, 10, NOW), 0)))
                .isEqualTo(Errors.NOT_LEADER_OR_FOLLOWER);
        // and keeps refusing, without touching the stream
        assertThat(errorOf(oldLeader.appendAsLeader(Batches.plain(Compression.NONE, 1, 10, NOW), 0)))
                .isEqualTo(Errors.NOT_LEADER_OR_FOLLOWER);
        assertThat(newLeader.appendAsLeader(Batches.plain(Compression.NONE, 1, 10, NOW), 1).join().baseOffset()).isEqualTo(1);
    }

    @Test
    void concurrentAppendsGetContiguousOffsetsThatMatchTheStoredBatches() throws Exception {
        KafkaPartitionLog log = create(TimestampType.CREATE_TIME);
        int threads = 4;
        int perThread = 50;
        List<CompletableFuture<AppendInfo>> results = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        try {
            java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
            List<java.util.concurrent.Future<?>> tasks = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int records = t + 1;
                tasks.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < perThread; i++) {
                        results.add(log.appendAsLeader(Batches.plain(Compression.NONE, records, 8, NOW), 0));
                    }
                    return null;
                }));
            }
            start.countDown();
            for (java.util.concurrent.Future<?> task : tasks) {
                task.get();
            }
        } finally {
            pool.shutdown();
        }
        long expectedEnd = (long) perThread * (1 + 2 + 3 + 4);
        List<AppendInfo> infos = results.stream().map(CompletableFuture::join)
                .sorted(java.util.Comparator.comparingLong(AppendInfo::baseOffset)).toList();
        long next = 0;
        for (AppendInfo info : infos) {
            assertThat(info.baseOffset()).isEqualTo(next);
            next = info.lastOffset() + 1;
        }
        assertThat(next).isEqualTo(expectedEnd);
        assertThat(log.logEndOffset()).isEqualTo(expectedEnd);

        List<MutableRecordBatch> stored = batches(Batches.read(log, 0, Integer.MAX_VALUE, Isolation.HIGH_WATERMARK, true));
        assertThat(stored).extracting(RecordBatch::baseOffset).containsExactlyElementsOf(infos.stream().map(AppendInfo::baseOffset).toList());
        assertThat(stored).extracting(RecordBatch::lastOffset).containsExactlyElementsOf(infos.stream().map(AppendInfo::lastOffset).toList());
        stored.forEach(MutableRecordBatch::ensureValid);
    }

    @Test
    void configBuilderRejectsBadValuesNamingThem() {
        assertThatThrownBy(() -> PartitionLogConfig.builder().maxMessageBytes(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxMessageBytes").hasMessageContaining("-1");
        assertThatThrownBy(() -> PartitionLogConfig.builder().timestampType(TimestampType.NO_TIMESTAMP_TYPE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("timestampType");
        assertThatThrownBy(() -> PartitionLogConfig.builder().messageTimestampAfterMaxMs(-5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("messageTimestampAfterMaxMs");
        assertThatThrownBy(() -> PartitionLogConfig.builder().clock(null)).isInstanceOf(IllegalArgumentException.class);
        assertThat(PartitionLogConfig.defaults().maxMessageBytes()).isEqualTo(1024 * 1024 + 12);
        assertThatThrownBy(() -> PartitionLogConfig.builder().snapshotIntervalBytes(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("snapshotIntervalBytes");
        assertThatThrownBy(() -> PartitionLogConfig.builder().metaChunkBytes(PartitionLogConfig.MIN_META_CHUNK_BYTES - 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("metaChunkBytes")
                .hasMessageContaining(Integer.toString(PartitionLogConfig.MIN_META_CHUNK_BYTES));
        assertThatThrownBy(() -> PartitionLogConfig.builder().producerIdExpirationMs(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("producerIdExpirationMs");
        assertThatThrownBy(() -> KafkaPartitionLog.create(store, 0, PartitionLogConfig.defaults()).join()
                .appendAsLeader(Batches.plain(Compression.NONE, 1, 1, NOW), -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("leaderEpoch");
        // the slice-1 constructor takes the later settings' defaults
        assertThat(new PartitionLogConfig(TimestampType.CREATE_TIME, 100, 1, 1, clock).producerIdExpirationMs())
                .isEqualTo(PartitionLogConfig.DEFAULT_PRODUCER_ID_EXPIRATION_MS);
    }

    /**
     * Regression: a backpressure refusal (the store is full; nothing taken, nothing written) made the
     * log refuse every later append until re-opened. It must fail alone, retriably, and the log go on.
     */
    @Test
    void backpressureRefusalFailsOnlyThatAppendRetriablyAndTheLogGoesOn() {
        try (MemoryStreamStore small = new MemoryStreamStore(1024, 1024)) {
            KafkaPartitionLog log = KafkaPartitionLog.create(small, 0,
                    PartitionLogConfig.builder().maxMessageBytes(1024).clock(clock).build()).join();
            log.appendAsLeader(Batches.plain(Compression.NONE, 5, 100, NOW), 0).join(); // ~600 bytes of 1024
            CompletableFuture<AppendInfo> refused = log.appendAsLeader(Batches.plain(Compression.NONE, 5, 100, NOW), 0);
            assertThat(errorOf(refused)).isEqualTo(Errors.REQUEST_TIMED_OUT);
            assertThat(failure(refused).isRetriable()).isTrue();

            log.deleteRecords(5).join(); // frees the first batch
            assertThat(log.appendAsLeader(Batches.plain(Compression.NONE, 5, 100, NOW), 0).join())
                    .isEqualTo(new AppendInfo(5, 9, -1, 5));
            assertThat(batches(Batches.read(log, 5, 1 << 20, Isolation.HIGH_WATERMARK, true)))
                    .extracting(RecordBatch::baseOffset).containsExactly(5L);
        }
    }
}
