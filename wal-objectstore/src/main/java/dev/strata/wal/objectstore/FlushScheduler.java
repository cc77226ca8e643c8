package dev.strata.wal.objectstore;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs a task after a delay: the flush interval's timer and the backoff between PUT attempts of
 * {@link ObjectStoreWal}, and the clock it measures the interval on. Injected so that tests run the
 * timer and move the clock by hand (no sleeps). Implementations
 * are thread-safe; tasks are short and must not block.
 */
@FunctionalInterface
public interface FlushScheduler {

    /**
     * Runs {@code task} once, about {@code delayNanos} from now, on a thread of the scheduler.
     *
     * @return cancels the task if it has not started (a started one runs to its end)
     */
    Cancellable schedule(Runnable task, long delayNanos);

    /** The clock the delays are measured on, in nanoseconds ({@link System#nanoTime()} unless a test says otherwise). */
    default long nanoTime() {
        return System.nanoTime();
    }

    /** Cancels a scheduled task. */
    @FunctionalInterface
    interface Cancellable {
        void cancel();
    }

    /** A scheduler on {@code executor}, which its caller owns (and shuts down). */
    static FlushScheduler of(ScheduledExecutorService executor) {
        return (task, delayNanos) -> {
            ScheduledFuture<?> f = executor.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
            return () -> f.cancel(false);
        };
    }
}
