package dev.strata.kafka;

/**
 * An aborted transaction that a {@code read_committed} reader must skip, as a Fetch response's
 * {@code abortedTransactions} entry carries it: the consumer drops the producer's batches from
 * {@code firstOffset} until it meets the producer's ABORT marker.
 *
 * @param producerId the transaction's producer id
 * @param firstOffset the offset of the transaction's first batch
 */
public record AbortedTransaction(long producerId, long firstOffset) {
}
