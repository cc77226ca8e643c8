package dev.strata.core.compaction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The compaction throttle's arithmetic, on a clock the test moves. */
class ByteRateLimiterTest {
    private final AtomicLong nanos = new AtomicLong(1_000);

    @Test
    void aFullBucketLetsOneSecondOfBytesThroughThenMakesTheCallerWaitInProportion() {
        ByteRateLimiter limiter = new ByteRateLimiter(1000, nanos::get);
        assertThat(limiter.reserve(600)).isZero();
        assertThat(limiter.reserve(400)).isZero();
        assertThat(limiter.reserve(500)).as("500 bytes over: half a second").isEqualTo(500_000_000L);
        nanos.addAndGet(500_000_000L);
        assertThat(limiter.reserve(100)).as("the debt is paid, 100 more bytes wait 0.1 s").isEqualTo(100_000_000L);
    }

    @Test
    void idleTimeRefillsAtMostOneSecondOfBytes() {
        ByteRateLimiter limiter = new ByteRateLimiter(1000, nanos::get);
        assertThat(limiter.reserve(1000)).isZero();
        nanos.addAndGet(10_000_000_000L); // ten idle seconds
        assertThat(limiter.reserve(1000)).isZero();
        assertThat(limiter.reserve(1)).isPositive();
    }

    @Test
    void aRequestLargerThanTheBucketIsDelayedNotRefused() {
        ByteRateLimiter limiter = new ByteRateLimiter(1000, nanos::get);
        assertThat(limiter.reserve(3000)).isEqualTo(2_000_000_000L);
    }

    @Test
    void rateMustBePositive() {
        assertThatThrownBy(() -> new ByteRateLimiter(0, nanos::get)).isInstanceOf(IllegalArgumentException.class);
    }
}
