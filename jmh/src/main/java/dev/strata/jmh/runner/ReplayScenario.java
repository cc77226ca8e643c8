package dev.strata.jmh.runner;

import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.Quota;
import dev.strata.core.QuotaStats;
import dev.strata.core.ReadStats;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorages;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Replay: a historical catch-up read from object storage with a cold cache while live ingest
 * continues. Four phases on one store directory:
 * <ol>
 *   <li>history: ingest batches of {@code --replay-batch-bytes} (default {@code --record-bytes})
 *       for 40% of the duration, flush everything to objects, close the store;</li>
 *   <li>reopen (both caches empty, nothing left in the WAL to replay); when the objects are files
 *       on this machine (the local object directory, a {@code file:} store, the in-process S3
 *       server) they are dropped from the kernel's page cache ({@link PageCache}), so the replay reads
 *       them from the disk, like fio's {@code seqread-1m-qd1};</li>
 *   <li>ingest alone at the live rate for 30% of the duration, a tailing reader
 *       ({@link TailReaders}) reading the live records as they are acknowledged: the ingest p99 and
 *       the tail end-to-end p99 without replay;</li>
 *   <li>the same ingest for 30% of the duration while readers replay the whole history of every
 *       stream from offset 0 (read from objects, bytes verified): replay throughput, and ingest
 *       and tail end-to-end p99 during replay. The replay runs to its end even if that takes longer than the phase.</li>
 * </ol>
 * The live rate is {@code --rate}, or a quarter of the throughput the history phase reached when that is 0,
 * so the two p99 figures compare like with like. With {@code --replay-quota}, the streams belong to
 * one tenant ({@link #TENANT}) whose catch-up read quota is set to it before the replay (tail reads
 * and appends are not limited), and the replay's rate is reported against it. Everything is verified
 * at the end.
 *
 * <p>Then the reference for the replay's speed: the history's objects (listed after phase 1) read
 * again with plain ranged GETs ({@link RawRangedGets}, page cache dropped again first), with the
 * store closed; the replay's speed is reported as a share of theirs (time to GET the objects / time
 * to replay them), and, after {@code --baseline}, as a share of fio's {@code seqread-1m-qd1}.
 * With {@code --stages}, the engine's stage breakdown of the live appends without and during replay.
 */
final class ReplayScenario implements Scenario {
    /**
     * Threads replaying history, each taking whole streams from 0 to the history's end. One: a
     * replay reader verifying bytes flat out takes a core, and the live ingest needs the other on
     * a two-core machine, or the figure measures the load generator starving rather than the store.
     */
    static final int REPLAY_THREADS = 1;
    /**
     * Live rate without {@code --rate}, as a share of the maximum the history phase reached: the
     * history phase saturates the machine, so half of it plus a replay is overload, not interference.
     */
    static final double LIVE_SHARE_OF_MAX = 0.25;
    /** The tenant of the scenario's streams, which {@code --replay-quota} limits. */
    static final String TENANT = "replay-bench";

    @Override
    public ScenarioResult run(RunContext context) throws Exception {
        RunnerOptions o = context.options;
        ScenarioResult result = new ScenarioResult("replay");
        StoreSettings settings = context.freshStore("replay");
        long d = context.durationNanos();
        long livePhaseNanos = d * 3 / 10; // each live-ingest phase: without replay, then beside it
        int historyBytes = o.replayBatchBytes();
        StageRecorder stages = settings.stages();
        List<Long> ids;
        LoadDriver history;
        try (DurableStreamStore store = settings.open()) {
            List<StreamSlot> slots = StreamSlot.create(store, o.streams(), StreamOptions.defaults().withTenant(TENANT));
            history = new LoadDriver(slots, historyBytes, o.rate(), Long.MAX_VALUE, null).start(d * 4 / 10);
            context.progress.phase("replay: writing history", () -> IngestFigures.status(history));
            history.await();
            history.rethrowFailure();
            store.flush().join();
            ids = StreamSlot.ids(slots);
        }
        List<ObjectInfo> historyObjects;
        try (ObjectStorage storage = ObjectStorages.fromUri(settings.objectsUri())) {
            historyObjects = RawRangedGets.dataObjects(storage.list("").join());
        }
        long liveRate = o.rate() > 0 ? o.rate() : Math.max(1, (long) (history.appendsPerSecond() * LIVE_SHARE_OF_MAX));
        double historyMib = history.appended.get() * (double) historyBytes / (1 << 20);
        result.add("streams", o.streams(), "").add("record size", o.recordBytes(), "bytes");
        result.add("history batch size", historyBytes, "bytes");
        result.add("history appends", history.appended.get(), "");
        result.add("history MiB", historyMib, "MiB");
        result.add("history objects", historyObjects.size(), "");
        result.add("history objects MiB", historyObjects.stream().mapToLong(ObjectInfo::size).sum() / (double) (1 << 20),
                "MiB");
        Path localObjects = context.localObjectFiles(settings);
        StageRecorder.Snapshot stagesMark = stages == null ? null : stages.snapshotAfter(history.appended.get(),
                TimeUnit.SECONDS.toNanos(2));
        long replayNanos = 0;
        try (DurableStreamStore store = settings.open(b -> b.backgroundCpuPriority(o.replayPriority()))) {
            List<StreamSlot> slots = StreamSlot.reopen(store, ids, 0);
            long[] historyEnd = slots.stream().mapToLong(s -> s.next).toArray();

            ProcessCpu cpuAlone = ProcessCpu.start();
            TailReaders tailAlone = new TailReaders(slots, o.recordBytes(), null).start();
            LoadDriver alone = new LoadDriver(slots, o.recordBytes(), liveRate, Long.MAX_VALUE, null).start(livePhaseNanos);
            context.progress.phase("replay: ingest without replay", () -> IngestFigures.status(alone));
            alone.await();
            tailAlone.finishAndAwait();
            double coresAlone = cpuAlone.cores();
            alone.rethrowFailure();
            stagesMark = StageRecorder.addTo(result, "without replay: ", stages, stagesMark,
                    history.appended.get() + alone.appended.get());
            if (localObjects != null) {
                context.progress.phase("replay: dropping object files from the page cache", () -> "");
                PageCache.evict(localObjects).addTo(result, "before replay: ");
            }

            if (o.replayQuota() > 0) {
                store.quotas().setTenantQuota(TENANT, Quota.unlimited().withCatchUpReadBytesPerSecond(o.replayQuota()));
            }
            AtomicLong replayed = new AtomicLong();
            LoadDriver during = new LoadDriver(slots, o.recordBytes(), liveRate, Long.MAX_VALUE, null);
            TailReaders tailDuring = new TailReaders(slots, o.recordBytes(), null);
            ExecutorService readers = Executors.newFixedThreadPool(REPLAY_THREADS, r -> {
                Thread t = new Thread(() -> {
                    if (o.replayPriority() != dev.strata.core.CpuPriority.NORMAL) {
                        o.replayPriority().applyToCurrentThread(); // the application's replay, like the store's
                    }
                    r.run();
                }, "strata-bench-replay");
                t.setDaemon(true);
                return t;
            });
            ReadStats readsBefore = store.readStats();
            long replayStart = System.nanoTime();
            ProcessCpu cpuReplay = ProcessCpu.start();
            List<CompletableFuture<Void>> replays = new ArrayList<>();
            try {
                tailDuring.start();
                during.start(livePhaseNanos);
                for (int i = 0; i < slots.size(); i++) {
                    StreamSlot slot = slots.get(i);
                    long end = historyEnd[i];
                    replays.add(CompletableFuture.runAsync(
                            () -> replayed.addAndGet(Verifier.verifyRange(slot, 0, end, historyBytes)), readers));
                }
                context.progress.phase("replay: ingest with replay", () -> IngestFigures.status(during)
                        + ", " + replayed.get() + " streams' records replayed");
                CompletableFuture<Void> all = CompletableFuture.allOf(replays.toArray(CompletableFuture[]::new));
                all.whenComplete((v, e) -> {
                    if (e != null) {
                        during.stop();
                    }
                });
                try {
                    all.join();
                } finally {
                    replayNanos = System.nanoTime() - replayStart;
                    long replayCpuNanos = cpuReplay.cpuNanos();
                    during.await();
                    tailDuring.finishAndAwait();
                    context.progress.end();
                    result.add("replayed records", replayed.get(), "");
                    result.add("replay time", replayNanos / 1e9, "s");
                    result.add("replay throughput", replayed.get() * 1e9 / replayNanos, "records/s");
                    result.add("replay throughput MiB", replayed.get() * (double) historyBytes / (1 << 20) * 1e9
                            / replayNanos, "MiB/s");
                    double fio = fioSeqRead(context.baseline());
                    if (!Double.isNaN(fio)) {
                        result.add("replay throughput / fio seqread-1m-qd1", replayed.get() * (double) historyBytes
                                / (1 << 20) * 1e9 / replayNanos / fio, "x");
                    }
                    ReadStats reads = store.readStats().minus(readsBefore);
                    result.add("replay bytes loaded from objects MiB", reads.objectBytesLoaded() / (double) (1 << 20), "MiB");
                    result.add("replay read amplification (loaded / returned)", reads.readAmplification(), "x");
                    // The replay's own CPU: the process's during the replay minus what live ingest and the
                    // tail reader used at the rate without it, for as long as they ran beside the replay (a
                    // quota'd replay outlasts them); the readers' checks of every byte included. Approximate:
                    // the JVM's own work (JIT, GC) is in both.
                    double replayMib = replayed.get() * (double) historyBytes / (1 << 20);
                    result.add("without replay: process CPU", coresAlone, "cores");
                    result.add("during replay: process CPU", replayCpuNanos / (double) replayNanos, "cores");
                    result.add("replay CPU per MiB replayed (above live ingest)",
                            (replayCpuNanos - coresAlone * Math.min(replayNanos, livePhaseNanos)) / 1e6 / replayMib, "ms/MiB");
                    result.add("replay fetches", reads.catchUpFetches(), "");
                    result.add("replay block reads that waited for a load", reads.blockCacheMisses(), "");
                    result.add("replay block reads from the block cache", reads.blockCacheHits(), "");
                    if (o.replayQuota() > 0) {
                        QuotaStats q = store.quotas().tenantStats(TENANT);
                        result.add("replay quota MiB", o.replayQuota() / (double) (1 << 20), "MiB/s");
                        result.add("replay throughput / quota", q.catchUpReadBytes() * 1e9 / replayNanos / o.replayQuota(), "x");
                        result.add("replay throttled", q.catchUpReadThrottleNanos() / 1e9, "s");
                    }
                }
            } catch (java.util.concurrent.CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            } finally {
                readers.shutdownNow();
            }
            during.rethrowFailure();
            result.add("live rate", liveRate, "appends/s");
            IngestFigures.add(result, "without replay: ", alone, liveRate, o.recordBytes());
            IngestFigures.add(result, "during replay: ", during, liveRate, o.recordBytes());
            String p99 = liveRate > 0 ? "append latency (CO-corrected) p99" : "append latency p99";
            result.add("ingest p99 ratio during/without replay",
                    result.number("during replay: " + p99) / result.number("without replay: " + p99), "x");
            result.addLatency("without replay: tail end-to-end latency", tailAlone.latency);
            result.addLatency("during replay: tail end-to-end latency", tailDuring.latency);
            result.add("tail end-to-end p99 ratio during/without replay",
                    tailDuring.latency.getValueAtPercentile(99) / (double) Math.max(1, tailAlone.latency.getValueAtPercentile(99)),
                    "x");
            StageRecorder.addTo(result, "during replay: ", stages, stagesMark,
                    history.appended.get() + alone.appended.get() + during.appended.get());
            long verified = 0;
            for (int i = 0; i < slots.size(); i++) {
                StreamSlot slot = slots.get(i);
                long end = slot.stream.nextOffset();
                if (end < slot.acked) {
                    throw new VerificationException("stream lost acknowledged records: stream=" + slot.id()
                            + " acknowledgedEnd=" + slot.acked + " nextOffset=" + end);
                }
                verified += Verifier.verifyRange(slot, 0, historyEnd[i], historyBytes)
                        + Verifier.verifyRange(slot, historyEnd[i], end, o.recordBytes());
            }
            result.add("records verified", verified, "");
        }
        rawGets(context, result, settings, historyObjects, localObjects, replayNanos);
        return result;
    }

    /** GETs in flight of the raw reference reads: one (as fio's qd1), and as many as the replay's read-ahead may have. */
    static final int[] RAW_IN_FLIGHT = {1, 4};

    /**
     * Reads the history's objects with plain ranged GETs (store closed, page cache dropped first when
     * the files are local) and reports their rate and the replay's speed as a share of it: the time
     * the GETs took over the time the replay took, for the same objects.
     */
    private static void rawGets(RunContext context, ScenarioResult result, StoreSettings settings,
            List<ObjectInfo> objects, Path localObjects, long replayNanos) throws Exception {
        if (objects.isEmpty()) {
            return;
        }
        try (ObjectStorage storage = ObjectStorages.fromUri(settings.objectsUri())) {
            for (int inFlight : RAW_IN_FLIGHT) {
                if (localObjects != null) {
                    PageCache.evict(localObjects);
                }
                context.progress.phase("replay: raw ranged GETs of the history's objects, " + inFlight + " in flight",
                        () -> "");
                RawRangedGets.Result raw = RawRangedGets.read(storage, objects, inFlight);
                String name = "raw ranged GETs of the history's objects (" + RawRangedGets.RANGE_BYTES / (1 << 20)
                        + " MiB, " + inFlight + " in flight)";
                result.add(name, raw.mibPerSecond(), "MiB/s");
                result.add("replay speed / " + name, raw.nanos() / (double) Math.max(1, replayNanos), "x");
            }
            context.progress.end();
        }
    }

    /** fio's {@code seqread-1m-qd1} MiB/s among the disk baseline's rows, or NaN. */
    static double fioSeqRead(List<String> baseline) {
        for (String row : baseline) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^seqread-1m-qd1\\s+([0-9.]+) MiB/s").matcher(row.trim());
            if (m.find()) {
                return Double.parseDouble(m.group(1));
            }
        }
        return Double.NaN;
    }
}
