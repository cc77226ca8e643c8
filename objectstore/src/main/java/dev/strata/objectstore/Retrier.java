package dev.strata.objectstore;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs an asynchronous request under a {@link RetryPolicy}.
 *
 * <p>What is retried: failures that are an {@link ObjectStorageException} with
 * {@link ObjectStorageException#isRetriable()}. For a request that is not idempotent (a conditional
 * write: a retry after a lost response could see its own first write and report a false
 * precondition failure) only {@code THROTTLED} is retried, because a throttled request was
 * rejected before it took effect. Anything else fails at once.
 *
 * <p>Time and randomness are injected: the clock bounds the total time, the {@link Scheduler}
 * waits out the backoff (tests pass one that runs at once and advances a fake clock), and the
 * random generator draws the jitter (seeded in tests). Thread-safe; the random generator is
 * used under this object's lock.
 */
public final class Retrier {
    private static final Logger LOG = LoggerFactory.getLogger(Retrier.class);

    /** Runs a task after a delay. */
    @FunctionalInterface
    public interface Scheduler {
        void schedule(Runnable task, long delayNanos);
    }

    private final RetryPolicy policy;
    private final Scheduler scheduler;
    private final LongSupplier nanoClock;
    @GuardedBy("this")
    private final RandomGenerator random; // not thread-safe itself

    public Retrier(RetryPolicy policy, Scheduler scheduler, LongSupplier nanoClock, RandomGenerator random) {
        this.policy = policy;
        this.scheduler = scheduler;
        this.nanoClock = nanoClock;
        this.random = random;
    }

    public RetryPolicy policy() {
        return policy;
    }

    /**
     * Runs {@code attempt} until it succeeds, fails with a non-retriable error, or the policy's
     * attempts or time run out; the returned future then carries the last failure, unwrapped.
     * {@code attempt} must start a fresh request each time it is called.
     */
    public <T> CompletableFuture<T> run(Operation op, String key, boolean idempotent,
                                        Supplier<CompletableFuture<T>> attempt) {
        CompletableFuture<T> result = new CompletableFuture<>();
        long start = nanoClock.getAsLong();
        runAttempt(op, key, idempotent, attempt, result, 1, start);
        return result;
    }

    private <T> void runAttempt(Operation op, String key, boolean idempotent, Supplier<CompletableFuture<T>> attempt,
                                CompletableFuture<T> result, int attemptNo, long start) {
        CompletableFuture<T> f;
        try {
            f = attempt.get();
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        f.whenComplete((value, error) -> {
            if (error == null) {
                result.complete(value);
                return;
            }
            Throwable cause = unwrap(error);
            if (!shouldRetry(cause, idempotent) || attemptNo >= policy.maxAttempts()) {
                result.completeExceptionally(cause);
                return;
            }
            long delay;
            synchronized (this) {
                delay = policy.backoffNanos(attemptNo, random.nextDouble());
            }
            long elapsed = nanoClock.getAsLong() - start;
            if (elapsed + delay >= policy.totalTimeoutNanos()) {
                LOG.debug("giving up on {} key={} after {} attempts: retry budget spent", op, key, attemptNo);
                result.completeExceptionally(cause);
                return;
            }
            LOG.debug("retrying {} key={} attempt={} in {}us: {}", op, key, attemptNo + 1, delay / 1000,
                    cause.getMessage());
            try {
                scheduler.schedule(() -> runAttempt(op, key, idempotent, attempt, result, attemptNo + 1, start), delay);
            } catch (RuntimeException e) { // scheduler shut down
                cause.addSuppressed(e);
                result.completeExceptionally(cause);
            }
        });
    }

    private static boolean shouldRetry(Throwable cause, boolean idempotent) {
        if (!(cause instanceof ObjectStorageException e) || !e.isRetriable()) {
            return false;
        }
        return idempotent || e.kind() == ObjectStorageException.Kind.THROTTLED;
    }

    /**
     * A future that completes like {@code f}, but on failure with the unwrapped cause (see
     * {@link #unwrap}), so that callbacks see the typed exception itself, as the
     * {@link ObjectStorage} contract promises.
     */
    public static <T> CompletableFuture<T> unwrapped(CompletableFuture<T> f) {
        CompletableFuture<T> out = new CompletableFuture<>();
        f.whenComplete((v, e) -> {
            if (e != null) {
                out.completeExceptionally(unwrap(e));
            } else {
                out.complete(v);
            }
        });
        return out;
    }

    /** Strips {@link CompletionException} and {@link ExecutionException} wrappers. */
    public static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
