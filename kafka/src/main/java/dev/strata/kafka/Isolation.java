package dev.strata.kafka;

/**
 * Up to where a read may see, as Kafka's {@code FetchIsolation}.
 * {@link #HIGH_WATERMARK} serves {@code read_uncommitted} consumers, {@link #TXN_COMMITTED}
 * {@code read_committed} ones. Both give the same result while the log refuses transactional
 * batches (last stable offset == high watermark).
 */
public enum Isolation {
    HIGH_WATERMARK,
    TXN_COMMITTED
}
