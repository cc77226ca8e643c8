package dev.strata.wal;

import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * Rate limit of a provisioned cloud volume (IOPS or bytes per second): a token bucket holding at
 * most one second of tokens. Used by the WAL writer thread only; not thread-safe.
 *
 * <p>A request larger than the bucket is allowed once the bucket is full and drives it negative,
 * so large writes are delayed in proportion to their size rather than refused.
 */
final class TokenBucket {
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final long ratePerSecond;
    private final LongSupplier nanoClock;
    private double tokens;
    private long lastRefillNanos;

    /** @param ratePerSecond tokens added per second, &gt; 0 */
    TokenBucket(long ratePerSecond, LongSupplier nanoClock) {
        this.ratePerSecond = ratePerSecond;
        this.nanoClock = nanoClock;
        this.tokens = ratePerSecond;
        this.lastRefillNanos = nanoClock.getAsLong();
    }

    /**
     * Nanoseconds to wait before {@code amount} tokens may be taken, or 0 if they were taken now.
     */
    long tryAcquire(long amount) {
        refill();
        double need = Math.min(amount, ratePerSecond);
        if (tokens >= need) {
            tokens -= amount;
            return 0;
        }
        return (long) Math.ceil((need - tokens) * NANOS_PER_SECOND / ratePerSecond);
    }

    /** Takes {@code amount} tokens, parking the calling thread until they are available. */
    void acquire(long amount) {
        for (long wait; (wait = tryAcquire(amount)) > 0; ) {
            LockSupport.parkNanos(wait);
        }
    }

    private void refill() {
        long now = nanoClock.getAsLong();
        long elapsed = now - lastRefillNanos;
        if (elapsed > 0) {
            tokens = Math.min(ratePerSecond, tokens + (double) elapsed * ratePerSecond / NANOS_PER_SECOND);
            lastRefillNanos = now;
        }
    }
}
