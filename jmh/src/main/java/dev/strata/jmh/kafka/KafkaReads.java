package dev.strata.jmh.kafka;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.apache.kafka.common.record.internal.FileRecords;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.Records;
import org.apache.kafka.server.storage.log.FetchIsolation;
import org.apache.kafka.storage.internals.log.FetchDataInfo;
import org.apache.kafka.storage.internals.log.UnifiedLog;

/** Reads of Kafka's own log, brought to the heap as {@code KafkaPartitionLog.read} returns them. */
final class KafkaReads {
    private KafkaReads() {
    }

    /**
     * {@code UnifiedLog.read(offset, maxBytes, HIGH_WATERMARK, minOneMessage=true)}, copied from the
     * segment into a heap buffer (a broker would {@code sendfile} the slice instead; this log's
     * reads return heap bytes, so both are measured with one copy out of the page cache). Kafka may
     * end the slice in a partial batch; iterating the result's batches skips it.
     */
    static MemoryRecords copyCompleteBatches(UnifiedLog log, long offset, int maxBytes) throws IOException {
        FetchDataInfo info = log.read(offset, maxBytes, FetchIsolation.HIGH_WATERMARK, true);
        Records records = info.records;
        if (records instanceof MemoryRecords memory) {
            return memory;
        }
        ByteBuffer buffer = ByteBuffer.allocate(records.sizeInBytes());
        ((FileRecords) records).readInto(buffer, 0);
        return MemoryRecords.readableRecords(buffer);
    }
}
