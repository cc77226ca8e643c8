package dev.strata.objectstore;

import java.time.Duration;

/**
 * How {@link Retrier} retries a failed request: at most {@link #maxAttempts()} attempts in total,
 * never starting an attempt once {@link #totalTimeout()} has passed since the first one, with
 * exponential backoff and "equal jitter" between attempts: before attempt {@code n+1} it waits
 * {@code d/2 + random[0, d/2]} where {@code d = min(maxDelay, baseDelay * 2^(n-1))}. Jitter keeps
 * many clients that were throttled together from retrying together; the fixed half keeps the wait
 * from collapsing to zero.
 *
 * <p>Immutable and thread-safe. Built by {@link #builder()}, whose setters validate their value.
 *
 * <p>Why our own policy rather than the AWS SDK's retry strategy: retries must also cover our own
 * backends and wrappers (fault injection, the local directory), count every attempt in
 * {@link ObjectStorageMetrics}, treat conditional writes differently from idempotent ones, and run
 * in tests on an injected clock and scheduler so no test sleeps. The SDK's retries are turned off
 * in {@code S3ObjectStorage} so that attempts are not multiplied.
 */
public final class RetryPolicy {

    /** Default attempts in total (first try included): enough to ride out a few seconds of 503s. */
    public static final int DEFAULT_MAX_ATTEMPTS = 10;
    /** Default delay before the first retry. */
    public static final Duration DEFAULT_BASE_DELAY = Duration.ofMillis(50);
    /** Default cap on one backoff: S3 advises backing off for seconds when throttled, not minutes. */
    public static final Duration DEFAULT_MAX_DELAY = Duration.ofSeconds(5);
    /** Default bound on the whole operation including all retries. */
    public static final Duration DEFAULT_TOTAL_TIMEOUT = Duration.ofSeconds(60);

    private static final RetryPolicy NONE = builder().maxAttempts(1).build();

    private final int maxAttempts;
    private final long baseDelayNanos;
    private final long maxDelayNanos;
    private final long totalTimeoutNanos;

    private RetryPolicy(Builder b) {
        this.maxAttempts = b.maxAttempts;
        this.baseDelayNanos = b.baseDelay.toNanos();
        this.maxDelayNanos = b.maxDelay.toNanos();
        this.totalTimeoutNanos = b.totalTimeout.toNanos();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The defaults above. */
    public static RetryPolicy defaults() {
        return builder().build();
    }

    /** One attempt, no retries. */
    public static RetryPolicy none() {
        return NONE;
    }

    public int maxAttempts() {
        return maxAttempts;
    }

    public Duration baseDelay() {
        return Duration.ofNanos(baseDelayNanos);
    }

    public Duration maxDelay() {
        return Duration.ofNanos(maxDelayNanos);
    }

    public Duration totalTimeout() {
        return Duration.ofNanos(totalTimeoutNanos);
    }

    /**
     * The wait before attempt {@code failedAttempts + 1}, given a uniform random {@code unit} in
     * {@code [0, 1)}.
     */
    long backoffNanos(int failedAttempts, double unit) {
        int shift = Math.min(failedAttempts - 1, 40);
        long exp = baseDelayNanos > (Long.MAX_VALUE >> shift) ? Long.MAX_VALUE : baseDelayNanos << shift;
        long d = Math.min(maxDelayNanos, exp);
        return d / 2 + (long) (unit * (d - d / 2));
    }

    long totalTimeoutNanos() {
        return totalTimeoutNanos;
    }

    @Override
    public String toString() {
        return "RetryPolicy[maxAttempts=" + maxAttempts + ", baseDelay=" + baseDelay() + ", maxDelay=" + maxDelay()
                + ", totalTimeout=" + totalTimeout() + "]";
    }

    /** Validating builder; each setter may be called once. */
    public static final class Builder {
        private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
        private Duration baseDelay = DEFAULT_BASE_DELAY;
        private Duration maxDelay = DEFAULT_MAX_DELAY;
        private Duration totalTimeout = DEFAULT_TOTAL_TIMEOUT;

        private Builder() {
        }

        /** @throws IllegalArgumentException if {@code attempts < 1} */
        public Builder maxAttempts(int attempts) {
            if (attempts < 1) {
                throw new IllegalArgumentException("maxAttempts must be >= 1, got " + attempts);
            }
            this.maxAttempts = attempts;
            return this;
        }

        /** @throws IllegalArgumentException if negative */
        public Builder baseDelay(Duration delay) {
            this.baseDelay = requireNonNegative("baseDelay", delay);
            return this;
        }

        /** @throws IllegalArgumentException if negative */
        public Builder maxDelay(Duration delay) {
            this.maxDelay = requireNonNegative("maxDelay", delay);
            return this;
        }

        /** @throws IllegalArgumentException if not positive */
        public Builder totalTimeout(Duration timeout) {
            if (timeout == null || timeout.isZero() || timeout.isNegative()) {
                throw new IllegalArgumentException("totalTimeout must be positive, got " + timeout);
            }
            this.totalTimeout = timeout;
            return this;
        }

        /** @throws IllegalArgumentException if {@code baseDelay > maxDelay} */
        public RetryPolicy build() {
            if (baseDelay.compareTo(maxDelay) > 0) {
                throw new IllegalArgumentException("baseDelay must be <= maxDelay, got baseDelay=" + baseDelay
                        + " maxDelay=" + maxDelay);
            }
            return new RetryPolicy(this);
        }

        private static Duration requireNonNegative(String name, Duration d) {
            if (d == null || d.isNegative()) {
                throw new IllegalArgumentException(name + " must be >= 0, got " + d);
            }
            return d;
        }
    }
}
