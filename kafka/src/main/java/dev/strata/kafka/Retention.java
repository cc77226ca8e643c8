package dev.strata.kafka;

import java.util.concurrent.CompletableFuture;

/**
 * Where retention moves the log start offset: Kafka's {@code deleteRetentionSizeBreachedSegments}
 * and {@code deleteRetentionMsBreachedSegments} rules applied to whole batches instead of whole
 * segments. By size: the oldest batches go while the remaining batches hold at least
 * {@code retention.bytes}. By time: the oldest batches go while their max timestamp is more than
 * {@code retention.ms} before now (Kafka: {@code now - largestTimestamp > retentionMs}); the first
 * batch that is not that old stops it, as the first such segment stops Kafka. As in Kafka without
 * tiered storage, every batch below the high watermark may go, the newest included. Stateless;
 * thread-safe.
 */
final class Retention {
    private Retention() {
    }

    /**
     * The new log start offset (a batch's base offset, or the end of the indexed data; never below
     * {@code logStartOffset}).
     *
     * @param view the time index when the caller took it; its data must be durable
     */
    static CompletableFuture<Long> newLogStartOffset(TimeIndex index, TimeIndex.View view, PartitionLogConfig config,
                                                     long now, long logStartOffset) {
        CompletableFuture<Long> bySize = config.retentionBytes() < 0 ? CompletableFuture.completedFuture(logStartOffset)
                : index.firstToKeepForSize(view, config.retentionBytes(), logStartOffset);
        return bySize.thenCompose(afterSize -> {
            if (config.retentionMs() < 0) {
                return CompletableFuture.completedFuture(afterSize);
            }
            long threshold = now - config.retentionMs();
            return index.firstNotOlderThan(view, threshold, afterSize).thenApply(t -> Math.max(afterSize, t));
        }).thenApply(t -> Math.max(logStartOffset, t));
    }
}
