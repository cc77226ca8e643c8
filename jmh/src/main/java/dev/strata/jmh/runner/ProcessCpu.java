package dev.strata.jmh.runner;

import java.lang.management.ManagementFactory;

/**
 * CPU time this JVM used over a phase (all of its threads: the store's, the load's and the
 * readers'), as cores kept busy: what a phase costs on a machine with few cores, where the replay's
 * CPU is what live ingest competes with.
 */
final class ProcessCpu {
    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    private final long cpuStart;
    private final long wallStart;

    private ProcessCpu(long cpuStart, long wallStart) {
        this.cpuStart = cpuStart;
        this.wallStart = wallStart;
    }

    /** Starts measuring now. */
    static ProcessCpu start() {
        return new ProcessCpu(OS.getProcessCpuTime(), System.nanoTime());
    }

    /** CPU nanoseconds used since {@link #start()}. */
    long cpuNanos() {
        return OS.getProcessCpuTime() - cpuStart;
    }

    /** Cores kept busy on average since {@link #start()}. */
    double cores() {
        long wall = System.nanoTime() - wallStart;
        return wall <= 0 ? 0 : cpuNanos() / (double) wall;
    }
}
