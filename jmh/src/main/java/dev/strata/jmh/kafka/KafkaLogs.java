package dev.strata.jmh.kafka;

import dev.strata.core.DurableStreamStore;
import dev.strata.core.Strata;
import dev.strata.kafka.AppendInfo;
import dev.strata.kafka.KafkaPartitionLog;
import dev.strata.kafka.LogStorageException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.server.util.KafkaScheduler;
import org.apache.kafka.storage.internals.log.LogConfig;
import org.apache.kafka.storage.internals.log.LogDirFailureChannel;
import org.apache.kafka.storage.internals.log.ProducerStateManagerConfig;
import org.apache.kafka.storage.internals.log.UnifiedLog;
import org.apache.kafka.storage.log.metrics.BrokerTopicStats;

/**
 * How the Kafka benchmarks open the two logs they compare, both under one scratch directory (same
 * disk): a durable Strata store (WAL with O_DIRECT and the local object directory, as
 * {@code Strata.builder().dataDir(dir)} sets them up) for {@code KafkaPartitionLog}, and Kafka
 * 4.3.1's own {@link UnifiedLog} per partition as a broker's LogManager would create it.
 */
final class KafkaLogs {
    private KafkaLogs() {
    }

    /** The durable Strata store the benchmarks use (same settings as {@code StreamStoreAppendBenchmark}). */
    static DurableStreamStore openStrata(Path dir) {
        return openStrata(dir, null);
    }

    /**
     * The same store with its objects in {@code objects} when not null (e.g. {@link
     * dev.strata.jmh.core.OffDiskDataObjects}, standing in for S3 off the WAL's disk).
     */
    static DurableStreamStore openStrata(Path dir, dev.strata.objectstore.ObjectStorage objects) {
        Strata.Builder builder = Strata.builder().dataDir(dir);
        if (objects != null) {
            builder.objectStorage(objects);
        }
        return builder
                .walCapacity(1L << 30)
                .logCacheBytes(512L << 20)
                .uploadThresholdBytes(64L << 20)
                .uploadInterval(Duration.ofSeconds(5))
                .build();
    }

    /**
     * Kafka's topic config: its defaults (no fsync at all: {@code flush.messages} and
     * {@code flush.ms} are Long.MAX_VALUE, the page cache holds the data), or with
     * {@code flush.messages=1}: {@code UnifiedLog.append} then calls {@code flush(false)} under the
     * log's lock after every append (its check is {@code unflushedMessages >= flushInterval}), which
     * forces the segment file ({@code FileChannel.force(true)}) and its offset, time and
     * transaction indexes before {@code appendAsLeader} returns.
     */
    static LogConfig kafkaConfig(boolean durable) {
        Map<String, String> props = new HashMap<>();
        if (durable) {
            props.put(TopicConfig.FLUSH_MESSAGES_INTERVAL_CONFIG, "1");
        }
        return new LogConfig(props);
    }

    /**
     * {@code log.appendAsLeader(batch, 0)}, again with a fresh copy while the store refuses it at
     * once under backpressure (REQUEST_TIMED_OUT: nothing was taken, see {@code KafkaPartitionLog}).
     *
     * @param retries counts the refusals
     */
    static CompletableFuture<AppendInfo> append(KafkaPartitionLog log, ProducerBatches batches, AtomicLong retries) {
        while (true) {
            CompletableFuture<AppendInfo> f = log.appendAsLeader(batches.copy(), 0);
            if (f.isCompletedExceptionally()) {
                try {
                    f.join();
                } catch (CompletionException e) {
                    if (e.getCause() instanceof LogStorageException s && s.error() == Errors.REQUEST_TIMED_OUT) {
                        retries.incrementAndGet();
                        continue;
                    }
                    throw e;
                }
            }
            return f;
        }
    }

    /** Kafka's log of partition {@code partition} of topic "bench" under {@code dir}. */
    static UnifiedLog openKafka(Path dir, int partition, LogConfig config, KafkaScheduler scheduler,
                                BrokerTopicStats stats) throws IOException {
        Path logDir = Files.createDirectories(dir.resolve("bench-" + partition));
        UnifiedLog log = UnifiedLog.create(logDir.toFile(), config, 0L, 0L, scheduler, stats, Time.SYSTEM, 900_000,
                new ProducerStateManagerConfig(86_400_000, false), 600_000, new LogDirFailureChannel(10), true,
                Optional.empty());
        log.updateHighWatermark(log.logEndOffset());
        return log;
    }

    /** Closes the Kafka logs, then the scheduler they share (either may be absent: a trial of the other system). */
    static void closeKafka(List<UnifiedLog> logs, KafkaScheduler scheduler) throws InterruptedException {
        for (UnifiedLog log : logs) {
            log.close();
        }
        if (scheduler != null) {
            scheduler.shutdown();
        }
    }
}
