package dev.strata.kafka;

import java.util.List;
import org.apache.kafka.common.record.internal.MemoryRecords;

/**
 * What a Fetch response needs from one read of a partition.
 *
 * @param records whole stored batches, as appended (owned by the caller; heap memory)
 * @param highWatermark end of the data a consumer may read; equals the log end offset, because an
 *     append is acknowledged only once durable
 * @param lastStableOffset end of the data a {@code read_committed} consumer may read: the first
 *     offset of the oldest undecided transaction (not below the log start offset), or the high
 *     watermark if there is none
 * @param logStartOffset the first offset a consumer may read
 * @param abortedTransactions for {@link Isolation#TXN_COMMITTED} reads, the aborted transactions
 *     that overlap the returned records, oldest marker first (the Fetch response's
 *     {@code abortedTransactions}); empty for {@link Isolation#HIGH_WATERMARK} reads and reads that
 *     return no records
 */
public record ReadResult(MemoryRecords records, long highWatermark, long lastStableOffset, long logStartOffset,
                         List<AbortedTransaction> abortedTransactions) {

    public ReadResult {
        abortedTransactions = List.copyOf(abortedTransactions);
    }
}
