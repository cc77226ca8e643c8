package dev.strata.core.append;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;

/**
 * Runs tasks one at a time, in submission order, on a shared executor: the per-stream executor
 * that keeps append completions in offset order without a thread per stream (STYLE, executors).
 *
 * <p>Thread-safe. Bounded by its callers: a stream has at most as many queued completions as
 * appends in flight. If the shared executor refuses work (shut down), tasks run on the submitting
 * thread, still one at a time and in order: a task is never dropped.
 */
final class SerialExecutor implements Executor {
    private final Executor delegate;
    @GuardedBy("this")
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    @GuardedBy("this")
    private boolean running;
    /** The thread that must drain (see {@link #executeByCaller}), or null. */
    @GuardedBy("this")
    private Thread callerDrains;

    SerialExecutor(Executor delegate) {
        this.delegate = delegate;
    }

    @Override
    public void execute(Runnable task) {
        synchronized (this) {
            tasks.add(task);
            if (running) {
                return;
            }
            running = true;
        }
        try {
            delegate.execute(this::drain);
        } catch (java.util.concurrent.RejectedExecutionException shutDown) {
            // The shared executor is shut down (the store is closing) while completions still arrive
            // (appends the WAL finishes during close). Run them here instead: they complete futures
            // callers wait on, and dropping one would leave an append neither completed nor failed.
            drain();
        }
    }

    /**
     * Queues {@code task} for the calling thread to run: if this executor is idle, the task (and any
     * queued after it) runs when this thread calls {@link #runQueuedByCaller()}, which it must do
     * once it has released its locks, saving the hop to the shared executor; if a drain is running,
     * that drain runs the task in its turn.
     */
    void executeByCaller(Runnable task) {
        synchronized (this) {
            tasks.add(task);
            if (running) {
                return;
            }
            running = true;
            callerDrains = Thread.currentThread();
        }
    }

    /** Runs the queued tasks here if {@link #executeByCaller} left them to this thread; else nothing. */
    void runQueuedByCaller() {
        synchronized (this) {
            if (callerDrains != Thread.currentThread()) {
                return;
            }
            callerDrains = null;
        }
        drain();
    }

    private void drain() {
        while (true) {
            Runnable next;
            synchronized (this) {
                next = tasks.poll();
                if (next == null) {
                    running = false;
                    return;
                }
            }
            try {
                next.run();
            } catch (RuntimeException e) {
                // A task's failure must not stop later tasks; tasks complete futures and do not throw.
                org.slf4j.LoggerFactory.getLogger(SerialExecutor.class).error("task failed", e);
            }
        }
    }
}
