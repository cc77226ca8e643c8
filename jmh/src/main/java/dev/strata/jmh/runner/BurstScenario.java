package dev.strata.jmh.runner;

import dev.strata.core.DurableStreamStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * Burst: a reconnect storm. {@code --streams} steady streams append at a steady rate for the whole
 * duration; after a quarter of it, four times as many other streams start at once, each sending a
 * backlog (together half as many bytes as the LogCache holds) as fast as the store allows, for at most
 * half the duration. Measures the backpressure observed (the only failure allowed: retriable
 * {@code BackpressureException}, retried), the storm's throughput and drain time, the steady
 * streams' latency before, during and after, and the recovery time: from the storm's start to the
 * end of the last 100 ms window in which there was backpressure or the steady streams' mean latency
 * exceeded both twice their mean and their p99 before the storm. Everything is verified at the end.
 */
final class BurstScenario implements Scenario {
    /** Storm streams per steady stream. */
    static final int STORM_FACTOR = 4;
    /** Steady appends per second per stream when {@code --rate} is 0. */
    static final long STEADY_RATE_PER_STREAM = 200;
    /** Width of the windows the steady state is judged in. */
    static final long WINDOW_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    @Override
    public ScenarioResult run(RunContext context) throws Exception {
        RunnerOptions o = context.options;
        ScenarioResult result = new ScenarioResult("burst");
        long d = context.durationNanos();
        int stormStreams = o.streams() * STORM_FACTOR;
        long steadyRate = o.rate() > 0 ? o.rate() : STEADY_RATE_PER_STREAM * o.streams();
        long backlog = Math.max(1, o.cacheBytes() / 2 / o.recordBytes() / stormStreams);
        StoreSettings settings = context.freshStore("burst");
        try (DurableStreamStore store = settings.open()) {
            List<StreamSlot> steadySlots = StreamSlot.create(store, o.streams());
            List<StreamSlot> stormSlots = StreamSlot.create(store, stormStreams);
            long origin = System.nanoTime();
            int windows = (int) (d / WINDOW_NANOS) + 2;
            Timeline steadyTimeline = new Timeline(origin, WINDOW_NANOS, windows);
            Timeline stormTimeline = new Timeline(origin, WINDOW_NANOS, windows);
            LoadDriver steady = new LoadDriver(steadySlots, o.recordBytes(), steadyRate, Long.MAX_VALUE, steadyTimeline)
                    .start(d);
            context.progress.phase("burst: steady", () -> IngestFigures.status(steady));
            TimeUnit.NANOSECONDS.sleep(d / 4); // the scenario's own run length before the storm
            Histogram before = steady.latency.copy();
            LoadDriver storm = new LoadDriver(stormSlots, o.recordBytes(), 0, backlog, stormTimeline);
            long stormStart = System.nanoTime();
            storm.start(d / 2);
            context.progress.phase("burst: storm", () -> "storm " + IngestFigures.status(storm) + "; steady "
                    + IngestFigures.status(steady));
            storm.await();
            long stormNanos = storm.elapsedNanos();
            Histogram during = steady.latency.copy();
            during.subtract(before);
            Histogram upToStormEnd = steady.latency.copy();
            steady.await();
            context.progress.end();
            Histogram after = steady.latency.copy();
            after.subtract(upToStormEnd);
            storm.rethrowFailure();
            steady.rethrowFailure();

            result.add("steady streams", o.streams(), "").add("storm streams", stormStreams, "");
            result.add("record size", o.recordBytes(), "bytes");
            result.add("steady rate", steadyRate, "appends/s");
            result.add("storm backlog", backlog * stormStreams, "records");
            result.add("storm appends", storm.appended.get(), "");
            result.add("storm drained", storm.appended.get() == backlog * stormStreams ? "yes" : "no (time limit)", "");
            result.add("storm drain time", stormNanos / 1e9, "s");
            result.add("storm throughput", storm.appendsPerSecond(), "appends/s");
            result.add("backpressure retries (storm)", storm.backpressure.get(), "");
            result.add("backpressure retries (steady)", steady.backpressure.get(), "");
            result.add("failures other than backpressure", 0, "");
            double recovery = recoverySeconds(steadyTimeline, stormTimeline, stormStart, before.getValueAtPercentile(99));
            result.add("recovery to steady state", Double.isNaN(recovery) ? "not within run" : recovery,
                    Double.isNaN(recovery) ? "" : "s");
            result.addLatency("steady latency before storm", before);
            result.addLatency("steady latency during storm", during);
            result.addLatency("steady latency after storm", after);
            result.addLatency("storm append latency", storm.serviceLatency);
            StageRecorder.addTo(result, "steady and storm: ", settings.stages(), null,
                    steady.appended.get() + storm.appended.get());
            List<StreamSlot> all = new ArrayList<>(steadySlots);
            all.addAll(stormSlots);
            result.add("records verified", Verifier.verifyAll(all, o.recordBytes()), "");
        }
        return result;
    }

    /**
     * Seconds from the storm's start to the end of the last unsteady window, 0 if none was, NaN if
     * the last window of the run was still unsteady. A window is unsteady if it saw backpressure or
     * its mean steady latency exceeded both twice the mean and the p99 of the windows before the storm.
     */
    static double recoverySeconds(Timeline steady, Timeline storm, long stormStartNanos, long baselineP99Nanos) {
        int first = steady.bucket(stormStartNanos);
        long baselineSum = 0;
        int baselineWindows = 0;
        for (int i = 1; i < first; i++) { // window 0 includes warm-up
            if (steady.acks(i) > 0) {
                baselineSum += steady.meanLatencyNanos(i);
                baselineWindows++;
            }
        }
        long baseline = baselineWindows == 0 ? 0 : baselineSum / baselineWindows;
        long limit = Math.max(2 * baseline, baselineP99Nanos);
        int lastUsed = first;
        int lastUnsteady = -1;
        for (int i = first; i < steady.buckets() - 1; i++) { // the last bucket collects stragglers
            if (steady.acks(i) > 0 || storm.acks(i) > 0 || steady.backpressure(i) > 0 || storm.backpressure(i) > 0) {
                lastUsed = i;
            }
            if (steady.backpressure(i) > 0 || storm.backpressure(i) > 0 || steady.meanLatencyNanos(i) > limit) {
                lastUnsteady = i;
            }
        }
        if (lastUnsteady < 0) {
            return 0;
        }
        if (lastUnsteady >= lastUsed) {
            return Double.NaN;
        }
        long endOfWindow = steady.originNanos + (lastUnsteady + 1) * steady.bucketNanos;
        return Math.max(0, endOfWindow - stormStartNanos) / 1e9;
    }
}
