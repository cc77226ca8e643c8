package dev.strata.kafka;

/**
 * Up to where a read may see, as Kafka's {@code FetchIsolation}.
 * {@link #HIGH_WATERMARK} serves {@code read_uncommitted} consumers, {@link #TXN_COMMITTED}
 * {@code read_committed} ones: the latter stop at the last stable offset and carry the aborted
 * transactions the consumer must skip.
 */
public enum Isolation {
    HIGH_WATERMARK,
    TXN_COMMITTED
}
