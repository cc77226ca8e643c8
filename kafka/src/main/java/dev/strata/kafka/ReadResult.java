package dev.strata.kafka;

import org.apache.kafka.common.record.internal.MemoryRecords;

/**
 * What a Fetch response needs from one read of a partition.
 *
 * @param records whole stored batches, as appended (owned by the caller; heap memory)
 * @param highWatermark end of the data a consumer may read; equals the log end offset, because an
 *     append is acknowledged only once durable
 * @param lastStableOffset equals the high watermark until transactions exist in this log
 * @param logStartOffset the first offset a consumer may read
 */
public record ReadResult(MemoryRecords records, long highWatermark, long lastStableOffset, long logStartOffset) {
}
