package dev.strata.wal.objectstore;

import java.util.ArrayList;
import java.util.List;

/** A {@link FlushScheduler} whose tasks run only when the test says so: no time passes by itself. */
final class ManualScheduler implements FlushScheduler {
    private final List<Runnable> tasks = new ArrayList<>();

    @Override
    public synchronized Cancellable schedule(Runnable task, long delayNanos) {
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
