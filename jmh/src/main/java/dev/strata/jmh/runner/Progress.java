package dev.strata.jmh.runner;

import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The progress line of long runs: every {@link #INTERVAL_SECONDS} seconds, the running phase, its
 * elapsed time and a status the phase supplies, on the given stream. Thread-safe.
 */
final class Progress implements AutoCloseable {
    /** Runs shorter than this print no progress at all. */
    static final long INTERVAL_SECONDS = 5;

    private final PrintStream out;
    private final ScheduledExecutorService timer;
    private ScheduledFuture<?> current; // guarded by: this

    Progress(PrintStream out) {
        this.out = out;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "strata-bench-progress");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts reporting {@code phase}; replaces the previous phase. */
    synchronized void phase(String phase, Supplier<String> status) {
        end();
        long start = System.nanoTime();
        current = timer.scheduleAtFixedRate(() -> out.printf(Locale.ROOT, "  [%s] %.0fs %s%n", phase,
                (System.nanoTime() - start) / 1e9, status.get()), INTERVAL_SECONDS, INTERVAL_SECONDS, TimeUnit.SECONDS);
    }

    /** Stops reporting the current phase. */
    synchronized void end() {
        if (current != null) {
            current.cancel(false);
            current = null;
        }
    }

    @Override
    public void close() {
        end();
        timer.shutdownNow();
    }
}
