package dev.strata.core.compaction;

import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * Limits a background job (compaction) to {@code bytesPerSecond}: a token bucket holding at most one
 * second of tokens. {@link #acquire} parks the calling thread until the bytes may be used; a
 * request larger than the bucket drives it negative, so large reads are delayed in proportion to
 * their size rather than refused. Used by one thread; not thread-safe.
 */
final class ByteRateLimiter {
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final long bytesPerSecond;
    private final LongSupplier nanoClock;
    private double tokens;
    private long lastRefillNanos;

    /** @param bytesPerSecond bytes allowed per second, &gt; 0 */
    ByteRateLimiter(long bytesPerSecond, LongSupplier nanoClock) {
        if (bytesPerSecond <= 0) {
            throw new IllegalArgumentException("bytesPerSecond must be > 0, got " + bytesPerSecond);
        }
        this.bytesPerSecond = bytesPerSecond;
        this.nanoClock = nanoClock;
        this.tokens = bytesPerSecond;
        this.lastRefillNanos = nanoClock.getAsLong();
    }

    /** Nanoseconds to wait before {@code bytes} may be used, taking them (0: use them now). */
    long reserve(long bytes) {
        long now = nanoClock.getAsLong();
        tokens = Math.min(bytesPerSecond, tokens + (now - lastRefillNanos) * (double) bytesPerSecond / NANOS_PER_SECOND);
        lastRefillNanos = now;
        tokens -= bytes;
        return tokens >= 0 ? 0 : (long) Math.ceil(-tokens * NANOS_PER_SECOND / bytesPerSecond);
    }

    /** Takes {@code bytes}, parking until the rate allows them. */
    void acquire(long bytes) {
        long waitNanos = reserve(bytes);
        long deadline = nanoClock.getAsLong() + waitNanos;
        while (waitNanos > 0 && !Thread.currentThread().isInterrupted()) {
            LockSupport.parkNanos(this, waitNanos);
            waitNanos = deadline - nanoClock.getAsLong();
        }
    }
}
