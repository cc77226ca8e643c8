package dev.strata.wal.objectstore;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link FlushScheduler} whose tasks run only when the test says so, and whose clock moves only
 * when the test moves it: no time passes by itself.
 */
final class ManualScheduler implements FlushScheduler {
    private final List<Runnable> tasks = new ArrayList<>();
    private final List<Long> delays = new ArrayList<>();
    private long now;

    @Override
    public synchronized long nanoTime() {
        return now;
    }

    /** Moves the clock forward (no task runs). */
    synchronized void advance(long nanos) {
        now += nanos;
    }

    /** The delays of every task scheduled so far, in order. */
    synchronized List<Long> delays() {
        return List.copyOf(delays);
    }

    @Override
    public synchronized Cancellable schedule(Runnable task, long delayNanos) {
        delays.add(delayNanos);
        Runnable[] holder = {task};
        Runnable entry = () -> holder[0].run();
        tasks.add(entry);
        notifyAll();
        return () -> {
            synchronized (ManualScheduler.this) {
                tasks.remove(entry);
            }
        };
    }

    /** Runs every task scheduled so far, and those they schedule, until none is left. */
    void runAll() {
        while (true) {
            List<Runnable> now;
            synchronized (this) {
                if (tasks.isEmpty()) {
                    return;
                }
                now = new ArrayList<>(tasks);
                tasks.clear();
            }
            now.forEach(Runnable::run);
        }
    }

    /** Waits (bounded) until a task is scheduled, e.g. by a storage thread, then runs every task. */
    void awaitTaskAndRunAll() throws InterruptedException {
        synchronized (this) {
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
            while (tasks.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("no task was scheduled");
                }
                java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }
        runAll();
    }

    synchronized int pending() {
        return tasks.size();
    }
}
