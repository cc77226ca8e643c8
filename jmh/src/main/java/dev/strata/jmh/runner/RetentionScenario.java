package dev.strata.jmh.runner;

import dev.strata.core.CompactionReport;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StorageSummary;
import dev.strata.objectstore.Operation;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Retention: ingest over many streams, keep only the newest half of each stream, compact, and
 * measure what object storage holds and costs. Five rounds of {@code duration / 5} ingest, each
 * followed by a flush, a trim of every stream to half of what it acknowledged, and one compaction
 * cycle; then compaction runs until it has nothing left to do. Compaction settings: target objects
 * of {@link #TARGET_OBJECT_BYTES}, data split out of stream-set objects at the first cycle, replaced
 * objects deleted at once (no reader needs a grace period here).
 *
 * <p>Figures: objects per GiB of live data, storage amplification (stored / live bytes), bytes
 * compaction rewrote per byte ingested, and object-store requests per GiB ingested by kind (all
 * requests: uploads, compaction, garbage collection, manifest). Every live record is verified at the
 * end (read from its stream's start offset).
 */
final class RetentionScenario implements Scenario {
    static final int ROUNDS = 5;
    static final long TARGET_OBJECT_BYTES = 32L << 20;
    private static final double GIB = 1L << 30;

    @Override
    public ScenarioResult run(RunContext context) throws Exception {
        RunnerOptions o = context.options;
        ScenarioResult result = new ScenarioResult("retention");
        StoreSettings settings = context.freshStore("retention");
        long appended = 0;
        long tasks = 0;
        long compactionNanos = 0;
        try (DurableStreamStore store = settings.open(b -> b.compactionInterval(Duration.ZERO)
                .streamSetSplitAge(Duration.ZERO).garbageGracePeriod(Duration.ZERO).orphanTtl(Duration.ZERO)
                .compactionTargetObjectBytes(TARGET_OBJECT_BYTES).compactionBytesPerSecond(0))) {
            List<StreamSlot> slots = StreamSlot.create(store, o.streams());
            Map<Operation, Long> before = store.storageSummary().requests();
            for (int round = 0; round < ROUNDS; round++) {
                LoadDriver driver = new LoadDriver(slots, o.recordBytes(), o.rate(), Long.MAX_VALUE, null)
                        .start(context.durationNanos() / ROUNDS);
                int r = round;
                context.progress.phase("retention: round " + (r + 1) + "/" + ROUNDS, () -> IngestFigures.status(driver));
                driver.await();
                driver.rethrowFailure();
                appended += driver.appended.get();
                store.flush().join();
                for (StreamSlot slot : slots) {
                    slot.stream.trim(slot.acked / 2).join(); // keep the newest half
                }
                long start = System.nanoTime();
                tasks += store.compact().join().tasksRun();
                compactionNanos += System.nanoTime() - start;
            }
            context.progress.phase("retention: compaction catching up", () -> "");
            long start = System.nanoTime();
            for (int cycle = 0; cycle < 20; cycle++) {
                CompactionReport report = store.compact().join();
                tasks += report.tasksRun();
                if (report.tasksRun() == 0 && report.objectsDeleted() == 0) {
                    break;
                }
            }
            long catchUpNanos = System.nanoTime() - start;
            compactionNanos += catchUpNanos;
            context.progress.end();
            StorageSummary summary = store.storageSummary();
            double ingestedGib = appended * (double) o.recordBytes() / GIB;
            result.add("streams", o.streams(), "").add("record size", o.recordBytes(), "bytes");
            result.add("ingested MiB", ingestedGib * 1024, "MiB");
            result.add("live MiB", summary.liveBytes() / (double) (1 << 20), "MiB");
            result.add("stored MiB", summary.storedBytes() / (double) (1 << 20), "MiB");
            result.add("objects", summary.objects(), "");
            result.add("objects per live GiB", summary.objects() / Math.max(summary.liveBytes() / GIB, 1e-9), "");
            result.add("storage amplification", summary.amplification(), "x");
            result.add("compaction tasks", tasks, "");
            result.add("compaction rewrite per ingested byte", summary.bytesRewritten() / Math.max(1.0, appended
                    * (double) o.recordBytes()), "x");
            result.add("compaction time", compactionNanos / 1e9, "s");
            result.add("catch-up compaction time", catchUpNanos / 1e9, "s");
            result.add("objects deleted", summary.objectsDeleted(), "");
            Map<Operation, Long> after = summary.requests();
            long puts = delta(after, before, Operation.PUT) + delta(after, before, Operation.MULTIPART_CREATE)
                    + delta(after, before, Operation.MULTIPART_UPLOAD_PART) + delta(after, before, Operation.MULTIPART_COMPLETE);
            result.add("PUT requests per ingested GiB", puts / Math.max(ingestedGib, 1e-9), "");
            result.add("GET requests per ingested GiB", delta(after, before, Operation.GET) / Math.max(ingestedGib, 1e-9), "");
            result.add("LIST requests per ingested GiB", delta(after, before, Operation.LIST) / Math.max(ingestedGib, 1e-9), "");
            result.add("DELETE requests per ingested GiB", delta(after, before, Operation.DELETE)
                    / Math.max(ingestedGib, 1e-9), "");
            long verified = 0;
            for (StreamSlot slot : slots) {
                verified += Verifier.verifyRange(slot, slot.stream.startOffset(), slot.stream.nextOffset(), o.recordBytes());
            }
            result.add("appends", appended, "");
            StageRecorder.addTo(result, "", settings.stages(), null, appended);
            result.add("records verified", verified, "");
        }
        return result;
    }

    private static long delta(Map<Operation, Long> after, Map<Operation, Long> before, Operation op) {
        return after.getOrDefault(op, 0L) - before.getOrDefault(op, 0L);
    }
}
