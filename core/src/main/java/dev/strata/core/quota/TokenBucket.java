package dev.strata.core.quota;

/**
 * Bytes allowed at {@code bytesPerSecond}, holding at most one second of them. Charges may drive
 * it negative (a debt that later callers wait out). Thread-safe (its monitor).
 */
final class TokenBucket {
    private static final double NANOS_PER_SECOND = 1e9;

    private final long bytesPerSecond;
    private double tokens; // guarded by: this
    private long lastNanos; // guarded by: this

    TokenBucket(long bytesPerSecond, long nowNanos) {
        if (bytesPerSecond <= 0) {
            throw new IllegalArgumentException("bytesPerSecond must be > 0, got " + bytesPerSecond);
        }
        this.bytesPerSecond = bytesPerSecond;
        this.tokens = bytesPerSecond;
        this.lastNanos = nowNanos;
    }

    long bytesPerSecond() {
        return bytesPerSecond;
    }

    private void refill(long nowNanos) {
        if (nowNanos > lastNanos) {
            tokens = Math.min(bytesPerSecond, tokens + (nowNanos - lastNanos) * bytesPerSecond / NANOS_PER_SECOND);
            lastNanos = nowNanos;
        }
    }

    private long debtNanos() {
        return tokens >= 0 ? 0 : (long) Math.ceil(-tokens * NANOS_PER_SECOND / bytesPerSecond);
    }

    /** Nanoseconds until the bucket is out of debt (0 if it is not in debt). */
    synchronized long waitNanos(long nowNanos) {
        refill(nowNanos);
        return debtNanos();
    }

    /** Whole bytes the bucket holds now (0 while it is in debt). */
    synchronized long availableBytes(long nowNanos) {
        refill(nowNanos);
        return tokens <= 0 ? 0 : (long) tokens;
    }

    /** Takes {@code bytes} (possibly into debt); returns the nanoseconds until the debt is paid. */
    synchronized long charge(long bytes, long nowNanos) {
        refill(nowNanos);
        tokens -= bytes;
        return debtNanos();
    }
}
