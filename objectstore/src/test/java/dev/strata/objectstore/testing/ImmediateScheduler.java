package dev.strata.objectstore.testing;

import dev.strata.objectstore.Retrier;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link Retrier.Scheduler} and nano clock for tests: scheduling a task advances the fake clock by
 * the delay and runs the task at once on the calling thread, so retry tests never wait. Records
 * every delay asked for. Thread-safe.
 */
public final class ImmediateScheduler implements Retrier.Scheduler {
    private final AtomicLong nanos = new AtomicLong();
    private final List<Long> delays = new CopyOnWriteArrayList<>();

    @Override
    public void schedule(Runnable task, long delayNanos) {
        delays.add(delayNanos);
        nanos.addAndGet(delayNanos);
        task.run();
    }

    /** The fake clock: the sum of all delays so far, plus {@link #advance}s. */
    public long nanoTime() {
        return nanos.get();
    }

    /** Moves the fake clock forward, e.g. to model a slow attempt. */
    public void advance(long delta) {
        nanos.addAndGet(delta);
    }

    /** Every delay scheduled so far, in order. */
    public List<Long> delays() {
        return List.copyOf(delays);
    }
}
