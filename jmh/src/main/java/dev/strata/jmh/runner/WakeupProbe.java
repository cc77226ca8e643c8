package dev.strata.jmh.runner;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * The platform's own floor under the store's latency, measured beside each scenario: a thread that
 * parks for {@value #PERIOD_MICROS} us again and again and records how late it wakes up. On a
 * virtual machine a parked thread's vCPU halts, and waking it can wait for the host: on this project's
 * machine kind, while the disk is busy with durable writes, wake-ups arrive 5-20 ms late about ten
 * times a second (an idle vCPU is woken late; a busy one is not), with or without Strata (see
 * docs/measurements/2026-12-07-tail-latency.md). Every append crosses a few threads, so such a stall
 * lands in the store's p99 whatever the store does; this row says how much of that the machine
 * itself put there.
 *
 * <p>Costs about {@code 1e6 / PERIOD_MICROS} wake-ups a second on one daemon thread. Not thread-safe:
 * start, then stop and read from one thread.
 */
final class WakeupProbe {
    static final long PERIOD_MICROS = 1000;
    /** Lateness from which a wake-up counts as a stall. */
    static final long STALL_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

    private final Histogram lateness = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
    private volatile boolean stopped;
    private long stalledNanos; // written by the probe thread, read after join
    private long startNanos;
    private long endNanos;
    private Thread thread;

    WakeupProbe start() {
        startNanos = System.nanoTime();
        thread = new Thread(this::run, "strata-bench-wakeup-probe");
        thread.setDaemon(true);
        thread.start();
        return this;
    }

    /** Stops the probe and adds its rows to {@code result}. */
    void stopInto(ScenarioResult result) throws InterruptedException {
        stopped = true;
        thread.join();
        endNanos = System.nanoTime();
        result.addLatency("platform: thread wake-up lateness", lateness);
        result.add("platform: time in wake-up stalls >= 5 ms",
                100.0 * stalledNanos / Math.max(1, endNanos - startNanos), "%");
    }

    private void run() {
        long period = TimeUnit.MICROSECONDS.toNanos(PERIOD_MICROS);
        while (!stopped) {
            long before = System.nanoTime();
            LockSupport.parkNanos(period);
            long late = Math.max(0, System.nanoTime() - before - period);
            lateness.recordValue(Math.min(late, lateness.getHighestTrackableValue()));
            if (late >= STALL_NANOS) {
                stalledNanos += late;
            }
        }
    }
}
