package dev.strata.wal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The rate limiter, on a fake clock. */
class TokenBucketTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);

    @Test
    void fullBucketGrantsOneSecondOfTokensThenAsksToWaitInProportion() {
        TokenBucket b = new TokenBucket(1000, now::get);
        assertThat(b.tryAcquire(600)).isZero();
        assertThat(b.tryAcquire(400)).isZero();
        // empty: 100 tokens at 1000/s need 100 ms
        assertThat(b.tryAcquire(100)).isEqualTo(100_000_000L);
        now.addAndGet(50_000_000L);
        assertThat(b.tryAcquire(100)).isEqualTo(50_000_000L);
        now.addAndGet(50_000_000L);
        assertThat(b.tryAcquire(100)).isZero();
    }

    @Test
    void tokensNeverAccumulateBeyondOneSecond() {
        TokenBucket b = new TokenBucket(10, now::get);
        now.addAndGet(60_000_000_000L);
        assertThat(b.tryAcquire(10)).isZero();
        assertThat(b.tryAcquire(1)).isPositive();
    }

    @Test
    void requestLargerThanTheBucketPassesWhenFullAndLeavesADebt() {
        TokenBucket b = new TokenBucket(100, now::get);
        assertThat(b.tryAcquire(250)).isZero(); // a 2.5 s write is not refused forever
        assertThat(b.tryAcquire(1)).isEqualTo(1_510_000_000L); // 150 debt + 1 token at 100/s
    }
}
