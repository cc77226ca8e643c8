package dev.strata.kafka.broker;

import java.util.PriorityQueue;

/** A {@link GroupScheduler} whose time moves only in {@link #advance}; due tasks run on the caller's thread. */
final class ManualScheduler implements GroupScheduler {
    private record Task(long due, long seq, Runnable run, boolean[] cancelled) {
    }

    private final PriorityQueue<Task> tasks = new PriorityQueue<>((a, b) -> a.due != b.due
            ? Long.compare(a.due, b.due) : Long.compare(a.seq, b.seq));
    private long now;
    private long seq;

    @Override
    public synchronized long nowMs() {
        return now;
    }

    @Override
    public synchronized Cancellable schedule(long delayMs, Runnable task) {
        boolean[] cancelled = new boolean[1];
        tasks.add(new Task(now + delayMs, seq++, task, cancelled));
        return () -> {
            synchronized (this) {
                cancelled[0] = true;
            }
        };
    }

    /** Moves time forward by {@code ms}, running every task that falls due, in order of due time. */
    void advance(long ms) {
        long target;
        synchronized (this) {
            target = now + ms;
        }
        while (true) {
            Task next;
            synchronized (this) {
                next = tasks.peek();
                if (next == null || next.due > target) {
                    now = target;
                    return;
                }
                tasks.poll();
                now = next.due;
                if (next.cancelled[0]) {
                    continue;
                }
            }
            next.run.run();
        }
    }
}
