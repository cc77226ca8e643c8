package dev.strata.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.core.DurableStreamStore;
import dev.strata.core.Strata;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The partition log on a durable Strata store, across restarts of the store. */
class KafkaPartitionLogDurableTest {
    private static final long NOW = 1_750_000_000_000L;

    @TempDir
    Path dir;

    private final ManualClock clock = new ManualClock(NOW);

    private DurableStreamStore openStore() {
        return openStore(dir);
    }

    /** A small durable store under {@code dir}: uploads and WAL laps happen within a test. */
    static DurableStreamStore openStore(Path dir) {
        return Strata.builder()
                .dataDir(dir)
                .walCapacity(16L << 20)
                .logCacheBytes(8L << 20)
                .blockCacheBytes(4L << 20)
                .maxInFlightReadBytes(2L << 20)
                .uploadThresholdBytes(1L << 20)
                .uploadInterval(Duration.ofMillis(200))
                .maxBatchBytes(64 * 1024)
                .objectBlockBytes(16 * 1024)
                .build();
    }

    private PartitionLogConfig config() {
        return PartitionLogConfig.builder().maxMessageBytes(64 * 1024).clock(clock).build();
    }

    private static List<Long> baseOffsets(MemoryRecords records) {
        List<Long> out = new ArrayList<>();
        records.batches().forEach(b -> out.add(b.baseOffset()));
        return out;
    }

    @Test
    void restartedStoreKeepsTheExactLogStartAndEndOffsets() {
        long id;
        long metaId;
        try (DurableStreamStore store = openStore()) {
            KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config()).join();
            id = log.streamId();
            metaId = log.metaStreamId();
            log.appendAsLeader(Batches.plain(Compression.NONE, 5, 100, NOW), 0).join();
            log.appendAsLeader(Batches.plain(Compression.zstd().build(), 5, 100, NOW), 0).join();
            assertThat(log.deleteRecords(7).join()).isEqualTo(7); // inside the second batch [5, 10)
            log.close();
        }
        try (DurableStreamStore store = openStore()) {
            KafkaPartitionLog log = KafkaPartitionLog.open(store, id, metaId, 0, config()).join();
            assertThat(log.logStartOffset()).isEqualTo(7);
            assertThat(log.logEndOffset()).isEqualTo(10);
            assertThat(log.highWatermark()).isEqualTo(10);
            assertThat(baseOffsets(Batches.read(log, 7, 1 << 20, Isolation.HIGH_WATERMARK, true))).containsExactly(5L);
            CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
                    () -> Batches.detach(log.read(6, 1 << 20, Isolation.HIGH_WATERMARK, true).join()));
            assertThat(((KafkaLogException) e.getCause()).error()).isEqualTo(Errors.OFFSET_OUT_OF_RANGE);
            assertThat(log.appendAsLeader(Batches.plain(Compression.NONE, 2, 10, NOW), 1).join())
                    .isEqualTo(new AppendInfo(10, 11, RecordBatch.NO_TIMESTAMP, 7));
            log.close();
        }
    }

    /**
     * Regression: a stream fetch may stop where uploaded data meets the log cache although
     * {@code maxBytes} allows more; the log returned that short result, Kafka's log fills the limit.
     * Found by {@link UnifiedLogDifferentialProperties}.
     */
    @Test
    void readFillsMaxBytesAcrossUploadedAndRecentBatches() {
        long id;
        long metaId;
        try (DurableStreamStore store = openStore()) {
            KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config()).join();
            id = log.streamId();
            metaId = log.metaStreamId();
            log.appendAsLeader(Batches.plain(Compression.NONE, 3, 100, NOW), 0).join();
            log.close();
        }
        try (DurableStreamStore store = openStore()) { // the first batch is now in an uploaded object
            KafkaPartitionLog log = KafkaPartitionLog.open(store, id, metaId, 0, config()).join();
            log.appendAsLeader(Batches.plain(Compression.NONE, 3, 100, NOW), 0).join();
            log.appendAsLeader(Batches.plain(Compression.NONE, 3, 100, NOW), 0).join();
            assertThat(baseOffsets(Batches.read(log, 1, 1 << 20, Isolation.HIGH_WATERMARK, false)))
                    .containsExactly(0L, 3L, 6L);
            log.close();
        }
    }
}
