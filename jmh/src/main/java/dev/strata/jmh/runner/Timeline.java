package dev.strata.jmh.runner;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Per-bucket counters over a run (acknowledged appends, their latency sum, backpressure refusals),
 * indexed by time since a shared origin; thread-safe. Times beyond the last bucket fall into it.
 */
final class Timeline {
    final long originNanos;
    final long bucketNanos;
    private final AtomicLongArray acks;
    private final AtomicLongArray latencySumNanos;
    private final AtomicLongArray backpressure;

    Timeline(long originNanos, long bucketNanos, int buckets) {
        this.originNanos = originNanos;
        this.bucketNanos = bucketNanos;
        this.acks = new AtomicLongArray(buckets);
        this.latencySumNanos = new AtomicLongArray(buckets);
        this.backpressure = new AtomicLongArray(buckets);
    }

    int bucket(long nanos) {
        long i = Math.max(0, (nanos - originNanos) / bucketNanos);
        return (int) Math.min(acks.length() - 1, i);
    }

    void ack(long nowNanos, long latencyNanos) {
        int i = bucket(nowNanos);
        acks.incrementAndGet(i);
        latencySumNanos.addAndGet(i, latencyNanos);
    }

    void backpressure(long nowNanos) {
        backpressure.incrementAndGet(bucket(nowNanos));
    }

    int buckets() {
        return acks.length();
    }

    long acks(int i) {
        return acks.get(i);
    }

    long backpressure(int i) {
        return backpressure.get(i);
    }

    /** Mean latency of the bucket's acknowledgements, or 0 if none. */
    long meanLatencyNanos(int i) {
        long n = acks.get(i);
        return n == 0 ? 0 : latencySumNanos.get(i) / n;
    }
}
