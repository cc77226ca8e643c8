package dev.strata.kafka;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.record.internal.FileRecords;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.common.record.internal.Records;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.server.util.KafkaScheduler;
import org.apache.kafka.storage.internals.log.FetchDataInfo;
import org.apache.kafka.storage.internals.log.LogConfig;
import org.apache.kafka.storage.internals.log.LogDirFailureChannel;
import org.apache.kafka.storage.internals.log.ProducerStateManagerConfig;
import org.apache.kafka.storage.internals.log.UnifiedLog;
import org.apache.kafka.storage.log.metrics.BrokerTopicStats;

/**
 * Kafka 4.3.1's own {@link UnifiedLog} as the reference in tests (as {@code UnifiedLogDifferentialProperties}
 * builds it: retention off, one segment unless {@code segmentBytes} is given, producer ids kept a day).
 * Public for the tests of {@code dev.strata.kafka.migrate}.
 */
public final class KafkaReference {
    private KafkaReference() {
    }

    /**
     * Opens (or creates) a Kafka log in {@code dir} (named {@code topic-partition}) with the high
     * watermark at its log end offset.
     *
     * @param segmentBytes Kafka's {@code segment.bytes}, or -1 for the default (1 GiB)
     */
    public static UnifiedLog open(File dir, Time time, KafkaScheduler scheduler, long logStartOffset, long recoveryPoint,
                                  int segmentBytes) throws IOException {
        Map<String, String> props = new HashMap<>(Map.of(
                TopicConfig.RETENTION_MS_CONFIG, "-1",
                TopicConfig.SEGMENT_MS_CONFIG, Long.toString(Long.MAX_VALUE)));
        if (segmentBytes > 0) {
            props.put(TopicConfig.SEGMENT_BYTES_CONFIG, Integer.toString(segmentBytes));
        }
        UnifiedLog log = UnifiedLog.create(dir, new LogConfig(props), logStartOffset, recoveryPoint, scheduler,
                new BrokerTopicStats(), time, 900_000, new ProducerStateManagerConfig(86_400_000, false), 600_000,
                new LogDirFailureChannel(10), true, Optional.empty());
        log.updateHighWatermark(log.logEndOffset());
        return log;
    }

    /** The bytes of the complete batches at the front of {@code records} (a partial tail dropped). */
    public static byte[] completeBatches(Records records) {
        int size = 0;
        for (RecordBatch b : records.batches()) {
            size += b.sizeInBytes();
        }
        ByteBuffer out = ByteBuffer.allocate(size);
        try {
            if (records instanceof FileRecords file) {
                file.readInto(out, 0);
            } else {
                out.put(((MemoryRecords) records).buffer().limit(size));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.array();
    }

    /**
     * Kafka's aborted transactions of a read, limited to those that begin below the end of its
     * complete batches (Kafka's bound is a sparse offset-index entry that may lie beyond; module
     * README, deliberate difference 14); none without records.
     */
    public static List<AbortedTransaction> abortedWithin(FetchDataInfo info) {
        long upperBound = -1;
        for (RecordBatch b : MemoryRecords.readableRecords(ByteBuffer.wrap(completeBatches(info.records))).batches()) {
            upperBound = b.lastOffset() + 1;
        }
        long bound = upperBound;
        return info.abortedTransactions.orElse(List.of()).stream()
                .filter(t -> t.firstOffset() < bound)
                .map(t -> new AbortedTransaction(t.producerId(), t.firstOffset()))
                .toList();
    }

    /** Kafka's last stable offset raised to its log start offset (deliberate difference 13). */
    public static long lastStableOffset(UnifiedLog log) {
        return Math.max(log.lastStableOffset(), log.logStartOffset());
    }

    /**
     * A producer's state in this log as {@code [epoch, coordinator epoch, ongoing transaction's first
     * offset or -1, last batch's last offset or -1]}, or null if unknown; comparable with
     * {@link #producerView(UnifiedLog, long)}.
     */
    public static List<Long> producerView(KafkaPartitionLog log, long producerId) {
        ProducerStateTable.Entry e = log.producerState(producerId);
        if (e == null) {
            return null;
        }
        long last = e.batches().isEmpty() ? -1 : e.batches().get(e.batches().size() - 1).lastOffset();
        return List.of((long) e.epoch(), (long) e.coordinatorEpoch(), e.txnFirstOffset(), last);
    }

    /** Kafka's state of a producer in the form of {@link #producerView(KafkaPartitionLog, long)}. */
    public static List<Long> producerView(UnifiedLog log, long producerId) {
        org.apache.kafka.storage.internals.log.ProducerStateEntry e =
                log.producerStateManager().activeProducers().get(producerId);
        if (e == null) {
            return null;
        }
        return List.of((long) e.producerEpoch(), (long) e.coordinatorEpoch(),
                e.currentTxnFirstOffset().orElse(ProducerStateTable.NO_TXN), e.lastDataOffset());
    }
}
