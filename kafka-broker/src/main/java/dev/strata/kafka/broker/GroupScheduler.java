package dev.strata.kafka.broker;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The clock and timer of the {@link GroupCoordinator}: session, join (rebalance) and sync timeouts.
 * Injectable so that tests drive time by hand.
 *
 * <p>Implementations are thread-safe; tasks may run on any thread.
 */
interface GroupScheduler {

    /** A scheduled task that can be cancelled. */
    interface Cancellable {
        /** Prevents the task from running if it has not started; harmless after it ran. */
        void cancel();
    }

    /** The current time in milliseconds (commit timestamps). */
    long nowMs();

    /** Runs {@code task} once, about {@code delayMs} from now. */
    Cancellable schedule(long delayMs, Runnable task);

    /** Wall-clock time and {@code executor}'s timer. */
    static GroupScheduler of(ScheduledExecutorService executor) {
        return new GroupScheduler() {
            @Override
            public long nowMs() {
                return System.currentTimeMillis();
            }

            @Override
            public Cancellable schedule(long delayMs, Runnable task) {
                ScheduledFuture<?> f = executor.schedule(task, delayMs, TimeUnit.MILLISECONDS);
                return () -> f.cancel(false);
            }
        };
    }
}
