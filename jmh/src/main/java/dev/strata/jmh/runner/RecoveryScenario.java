package dev.strata.jmh.runner;

import dev.strata.core.DurableStreamStore;
import dev.strata.core.StoreRecoveryReport;
import dev.strata.testkit.ChildJvm;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Recovery: a child JVM ({@link RecoveryChild}) appends with uploads deferred, so acknowledged data
 * piles up in the WAL; it is killed (SIGKILL, no close) once the WAL holds about 80% of what the
 * upload trigger allows, or at 80% of the duration. The store is then reopened on the same
 * directory: time to serve (build() until it returns), bytes replayed per second from the engine's
 * recovery report, and the time to the first read. Every acknowledged record must read back with
 * its bytes (and records appended but not yet reported as acknowledged must read back right too).
 */
final class RecoveryScenario implements Scenario {
    /** Kill the child once this share of the upload trigger is acknowledged. */
    static final double KILL_AT_SHARE_OF_THRESHOLD = 0.8;

    @Override
    public ScenarioResult run(RunContext context) throws Exception {
        RunnerOptions o = context.options;
        StoreSettings settings = context.freshStore("recovery").withDeferredUploads();
        long killAtBytes = (long) (settings.uploadThresholdBytes() * KILL_AT_SHARE_OF_THRESHOLD);
        Map<Long, Long> acked = new HashMap<>();
        List<Long> ids = new ArrayList<>();
        long childNanos = runChildAndKill(context, settings, killAtBytes, ids, acked);
        long ackedRecords = acked.values().stream().mapToLong(Long::longValue).sum();

        ScenarioResult result = new ScenarioResult("recovery");
        result.add("streams", o.streams(), "").add("record size", o.recordBytes(), "bytes");
        result.add("child ran", childNanos / 1e9, "s");
        result.add("acknowledged before kill", ackedRecords, "records");
        long openStart = System.nanoTime();
        try (DurableStreamStore store = settings.open()) {
            long timeToServe = System.nanoTime() - openStart;
            StoreRecoveryReport report = store.recoveryReport();
            List<StreamSlot> slots = StreamSlot.reopen(store, ids, 1);
            slots.get(0).stream.fetch(0, 1, 1).join().close();
            long firstRead = System.nanoTime() - openStart;
            for (StreamSlot slot : slots) {
                slot.acked = acked.getOrDefault(slot.id(), 0L);
            }
            result.add("time to serve", timeToServe / 1e6, "ms");
            result.add("time to first read", firstRead / 1e6, "ms");
            result.add("engine recovery time", report.durationNanos() / 1e6, "ms");
            result.add("records replayed", report.recordsReplayed(), "");
            result.add("bytes replayed", report.bytesReplayed(), "bytes");
            result.add("replay rate", report.bytesReplayed() / (1 << 20) * 1e9 / Math.max(1, report.durationNanos()),
                    "MiB/s");
            result.add("records verified", Verifier.verifyAll(slots, o.recordBytes()), "");
        }
        return result;
    }

    /** Runs the child until it acknowledged {@code killAtBytes} or most of the duration passed; returns its run time. */
    private static long runChildAndKill(RunContext context, StoreSettings settings, long killAtBytes, List<Long> ids,
            Map<Long, Long> acked) throws IOException, InterruptedException {
        RunnerOptions o = context.options;
        List<String> args = new ArrayList<>(List.of(settings.toArgs()));
        args.addAll(List.of(Integer.toString(o.streams()), Integer.toString(o.recordBytes()), Long.toString(o.rate())));
        long start = System.nanoTime();
        long deadline = start + context.durationNanos() * 8 / 10;
        long[] ackedBytes = {0};
        // Watchdog: a child that stops reporting is killed too, so the read below always ends.
        try (ChildJvm child = ChildJvm.of(RecoveryChild.class).jvmArgs("-Xmx1g", "-XX:MaxDirectMemorySize=1g")
                .args(args.toArray(String[]::new)).stderrTo(settings.dataDir().resolve("child.err"))
                .watchdog(Duration.ofNanos(context.durationNanos() * 2 + TimeUnit.SECONDS.toNanos(30))).start()) {
            context.progress.phase("recovery: child appending", () -> ackedBytes[0] / (1 << 20) + " MiB acknowledged");
            try {
                child.readLinesKillingWhen(line -> {
                    String[] f = line.split(" ");
                    switch (f[0]) {
                        case "STREAM" -> ids.add(Long.parseLong(f[1]));
                        case "ACKED" -> {
                            long previous = acked.getOrDefault(Long.parseLong(f[1]), 0L);
                            long end = Long.parseLong(f[2]);
                            acked.put(Long.parseLong(f[1]), Math.max(previous, end));
                            ackedBytes[0] += Math.max(0, end - previous) * (o.recordBytes() + 64L); // 64: batch header, roughly
                        }
                        case "ERROR" -> throw new IllegalStateException("recovery child failed: " + line);
                        default -> {
                        }
                    }
                }, () -> (ackedBytes[0] >= killAtBytes || System.nanoTime() - deadline >= 0) && !acked.isEmpty()); // SIGKILL
                child.close();
            } finally {
                context.progress.end();
            }
            if (ids.size() != o.streams()) {
                throw new IllegalStateException("recovery child did not start: stderr:\n" + child.stderr());
            }
        }
        return System.nanoTime() - start;
    }
}
