package dev.strata.wal;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the WAL's future completions in the order they were queued, without the WAL's lock. The WAL
 * queues them under its lock (so the queue order is append order), and the thread that reported
 * the write (a backend thread, the writer thread, or an appender that wrote its own group) runs
 * them after releasing the lock. One thread at a time runs them ({@code running}), so they stay
 * in order; a thread that finds another one running leaves, and that one re-checks the queue after
 * clearing its flag, so nothing queued is left behind.
 *
 * <p>Thread-safety: thread-safe (a concurrent queue and an atomic flag; no lock). A callback that
 * throws is logged and does not stop the ones after it.
 */
final class CompletionQueue {
    private static final Logger LOG = LoggerFactory.getLogger(BlockDeviceWal.class);

    private final Path path;
    private final ConcurrentLinkedQueue<Runnable> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean running = new AtomicBoolean();

    CompletionQueue(Path path) {
        this.path = path;
    }

    /** Queues {@code completions} to run, in order, after the ones queued before. Call holding the WAL's lock. */
    void add(List<Runnable> completions) {
        if (completions.isEmpty()) {
            return;
        }
        queue.add(() -> completions.forEach(Runnable::run));
    }

    /** Whether completions wait and no thread is running them. */
    boolean waitingForRunner() {
        return !queue.isEmpty() && !running.get();
    }

    /** Whether completions wait (possibly being run by another thread). */
    boolean isEmpty() {
        return queue.isEmpty();
    }

    /** Runs queued completions, unless another thread is; never holding the WAL's lock. */
    void run() {
        while (!queue.isEmpty() && running.compareAndSet(false, true)) {
            try {
                for (Runnable r; (r = queue.poll()) != null; ) {
                    try {
                        r.run();
                    } catch (RuntimeException e) {
                        LOG.error("WAL completion callback failed: file={}", path, e);
                    }
                }
            } finally {
                running.set(false);
            }
        }
    }
}
