package dev.strata.objectstore;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.objectstore.ObjectStorageException.Kind;
import dev.strata.objectstore.testing.ImmediateScheduler;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Backoff, budgets and which failures are retried; on a fake clock, so nothing waits. */
class RetrierTest {
    private final ImmediateScheduler scheduler = new ImmediateScheduler();

    private Retrier retrier(RetryPolicy policy) {
        return new Retrier(policy, scheduler, scheduler::nanoTime, new SplittableRandom(42));
    }

    private static ObjectStorageException error(Kind kind) {
        return ObjectStorageException.of(kind, Operation.GET, "k", 0, "test", null);
    }

    /** Fails the first {@code failures} attempts with {@code kind}, then returns the attempt number. */
    private static java.util.function.Supplier<CompletableFuture<Integer>> failing(AtomicInteger attempts, int failures,
                                                                                 Kind kind) {
        return () -> {
            int n = attempts.incrementAndGet();
            return n <= failures ? CompletableFuture.failedFuture(error(kind)) : CompletableFuture.completedFuture(n);
        };
    }

    private static Throwable failure(CompletableFuture<?> f) {
        try {
            f.join();
        } catch (CompletionException e) {
            return e.getCause();
        }
        throw new AssertionError("expected failure");
    }

    @Test
    void throttledAndTransientFailuresAreRetriedUntilSuccess() {
        AtomicInteger attempts = new AtomicInteger();
        assertThat(retrier(RetryPolicy.defaults()).run(Operation.GET, "k", true, failing(attempts, 3, Kind.THROTTLED))
                .join()).isEqualTo(4);
        AtomicInteger again = new AtomicInteger();
        assertThat(retrier(RetryPolicy.defaults()).run(Operation.GET, "k", true, failing(again, 2, Kind.TRANSIENT))
                .join()).isEqualTo(3);
    }

    @Test
    void backoffGrowsExponentiallyWithJitterAndIsCapped() {
        RetryPolicy policy = RetryPolicy.builder().maxAttempts(8).baseDelay(Duration.ofMillis(100))
                .maxDelay(Duration.ofMillis(1000)).totalTimeout(Duration.ofHours(1)).build();
        AtomicInteger attempts = new AtomicInteger();
        retrier(policy).run(Operation.GET, "k", true, failing(attempts, 7, Kind.THROTTLED)).join();
        assertThat(scheduler.delays()).hasSize(7);
        long[] caps = {100, 200, 400, 800, 1000, 1000, 1000};
        for (int i = 0; i < caps.length; i++) {
            long cap = Duration.ofMillis(caps[i]).toNanos();
            assertThat(scheduler.delays().get(i)).as("delay " + i).isBetween(cap / 2, cap);
        }
    }

    @Test
    void givesUpAfterMaxAttemptsWithTheLastError() {
        AtomicInteger attempts = new AtomicInteger();
        Throwable e = failure(retrier(RetryPolicy.builder().maxAttempts(3).build())
                .run(Operation.GET, "k", true, failing(attempts, 100, Kind.THROTTLED)));
        assertThat(attempts).hasValue(3);
        assertThat(e).isInstanceOf(ObjectStorageException.class);
        assertThat(((ObjectStorageException) e).kind()).isEqualTo(Kind.THROTTLED);
    }

    @Test
    void givesUpWhenTheNextBackoffWouldExceedTheTotalTimeout() {
        RetryPolicy policy = RetryPolicy.builder().maxAttempts(1000).baseDelay(Duration.ofSeconds(1))
                .maxDelay(Duration.ofSeconds(1)).totalTimeout(Duration.ofSeconds(10)).build();
        AtomicInteger attempts = new AtomicInteger();
        failure(retrier(policy).run(Operation.GET, "k", true, failing(attempts, 1000, Kind.TRANSIENT)));
        assertThat(scheduler.nanoTime()).isLessThan(Duration.ofSeconds(10).toNanos());
        assertThat(attempts.get()).isBetween(10, 21);
    }

    @Test
    void permanentNotFoundAndPreconditionFailuresAreNotRetried() {
        for (Kind kind : new Kind[] {Kind.PERMANENT, Kind.NOT_FOUND, Kind.PRECONDITION_FAILED}) {
            AtomicInteger attempts = new AtomicInteger();
            Throwable e = failure(retrier(RetryPolicy.defaults()).run(Operation.GET, "k", true, failing(attempts, 5, kind)));
            assertThat(attempts).as(kind.name()).hasValue(1);
            assertThat(((ObjectStorageException) e).kind()).isEqualTo(kind);
        }
    }

    @Test
    void nonIdempotentRequestsAreRetriedOnlyWhenThrottled() {
        AtomicInteger transientAttempts = new AtomicInteger();
        failure(retrier(RetryPolicy.defaults()).run(Operation.PUT, "k", false, failing(transientAttempts, 5, Kind.TRANSIENT)));
        assertThat(transientAttempts).hasValue(1);
        AtomicInteger throttledAttempts = new AtomicInteger();
        assertThat(retrier(RetryPolicy.defaults()).run(Operation.PUT, "k", false,
                failing(throttledAttempts, 2, Kind.THROTTLED)).join()).isEqualTo(3);
    }

    @Test
    void unknownExceptionsAreNotRetried() {
        AtomicInteger attempts = new AtomicInteger();
        Throwable e = failure(retrier(RetryPolicy.defaults()).run(Operation.GET, "k", true, () -> {
            attempts.incrementAndGet();
            throw new IllegalStateException("bug");
        }));
        assertThat(e).isInstanceOf(IllegalStateException.class);
        assertThat(attempts).hasValue(1);
    }
}
