package dev.strata.jmh.runner;

import dev.strata.core.AppendStageListener;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * The engine's stage breakdown of appends ({@code --stages}): the store's
 * {@link AppendStageListener} reports each acknowledged append's timestamps, and this keeps one
 * histogram per stage (see {@link Stage}) plus the total. With {@link #trackDelivery()}, it also pairs
 * each append's "visible" moment with the moment a tail reader got the batch ({@link #delivered}), in
 * whichever order the two arrive, for the tail's last stage. Thread-safe.
 *
 * <p>Phases of one scenario are told apart with {@link #snapshot} and {@link Snapshot#minus}.
 */
final class StageRecorder implements AppendStageListener {

    /**
     * The stages of an append, in order; their durations add up to {@link #TOTAL}: 1, quota and
     * backpressure waits, the encode, the stream's lock; 2, the WAL's queue, group-commit wait,
     * write and sync, and the wake-up of its completion thread; 3, the LogCache insert; 4, the hop
     * from the WAL's thread to the stream's completion lane on the callback executor.
     */
    enum Stage {
        ADMISSION("stage 1: call -> WAL hand-off"),
        WAL("stage 2: WAL hand-off -> durable"),
        INSERT("stage 3: durable -> visible"),
        COMPLETION("stage 4: visible -> future completing");

        final String label;

        Stage(String label) {
            this.label = label;
        }
    }

    /** Label of the total, call to future completing (stages 1-4). */
    static final String TOTAL = "stages 1-4: call -> future completing";
    /** Label of the tail's last stage: from the append's visible moment to a tail reader's fetch returning it. */
    static final String DELIVERY = "tail stage: visible -> delivered";

    /** Appends of one stream whose visible and delivered moments are paired; older ones are overwritten. */
    private static final int RING = 1 << 14;

    private final Histogram[] stages = new Histogram[Stage.values().length];
    private final Histogram total = histogram();
    private final Histogram delivery = histogram();
    private volatile boolean trackDelivery;
    private final ConcurrentHashMap<Long, Ring> rings = new ConcurrentHashMap<>();

    StageRecorder() {
        for (int i = 0; i < stages.length; i++) {
            stages[i] = histogram();
        }
    }

    private static Histogram histogram() {
        return new ConcurrentHistogram(LoadDriver.MAX_TRACKED_NANOS, 3);
    }

    private static void record(Histogram h, long nanos) {
        h.recordValue(Math.max(0, Math.min(LoadDriver.MAX_TRACKED_NANOS, nanos)));
    }

    @Override
    public void onAppend(long streamId, long baseOffset, long calledNanos, long handedToWalNanos, long durableNanos,
            long visibleNanos, long completingNanos) {
        record(stages[Stage.ADMISSION.ordinal()], handedToWalNanos - calledNanos);
        record(stages[Stage.WAL.ordinal()], durableNanos - handedToWalNanos);
        record(stages[Stage.INSERT.ordinal()], visibleNanos - durableNanos);
        record(stages[Stage.COMPLETION.ordinal()], completingNanos - visibleNanos);
        record(total, completingNanos - calledNanos);
        if (trackDelivery) {
            ring(streamId).pair(baseOffset, visibleNanos, true, delivery);
        }
    }

    /** Pairs appends' visible moments with {@link #delivered} from now on (a tail scenario). */
    StageRecorder trackDelivery() {
        trackDelivery = true;
        return this;
    }

    /** A tail reader got the batch at {@code baseOffset} of {@code streamId} at {@code nanos}. */
    void delivered(long streamId, long baseOffset, long nanos) {
        if (trackDelivery) {
            ring(streamId).pair(baseOffset, nanos, false, delivery);
        }
    }

    private Ring ring(long streamId) {
        return rings.computeIfAbsent(streamId, id -> new Ring());
    }

    /** Appends reported so far. */
    long reported() {
        return total.getTotalCount();
    }

    /**
     * The histograms as they are once at least {@code reports} appends were reported, or after
     * {@code maxWaitNanos}: the store reports an append just after completing its future, so the last
     * few may still be on their way when the load generator has seen every acknowledgement.
     */
    Snapshot snapshotAfter(long reports, long maxWaitNanos) {
        long deadline = System.nanoTime() + maxWaitNanos;
        while (reported() < reports && System.nanoTime() - deadline < 0) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
        return snapshot();
    }

    /** Copies of the histograms now. */
    Snapshot snapshot() {
        Histogram[] copies = new Histogram[stages.length];
        for (int i = 0; i < stages.length; i++) {
            copies[i] = stages[i].copy();
        }
        return new Snapshot(copies, total.copy(), delivery.copy());
    }

    /** An empty snapshot (the start of a phase). */
    static Snapshot empty() {
        return new StageRecorder().snapshot();
    }

    /**
     * Adds the breakdown of the appends {@code recorder} saw since {@code since} (null: since it was
     * made) to {@code r}, each stage's p50/p99/p99.9/max under {@code prefix}, once {@code appends}
     * reports arrived in all; does nothing when {@code recorder} is null (no {@code --stages}).
     * Returns the snapshot taken, the start of the next phase.
     */
    static Snapshot addTo(ScenarioResult r, String prefix, StageRecorder recorder, Snapshot since, long appends) {
        if (recorder == null) {
            return null;
        }
        Snapshot now = recorder.snapshotAfter(appends, TimeUnit.SECONDS.toNanos(2));
        (since == null ? now : now.minus(since)).addTo(r, prefix);
        return now;
    }

    /** The histograms at one moment. */
    record Snapshot(Histogram[] stages, Histogram total, Histogram delivery) {

        /** What was recorded between {@code earlier} and this. */
        Snapshot minus(Snapshot earlier) {
            Histogram[] out = new Histogram[stages.length];
            for (int i = 0; i < stages.length; i++) {
                out[i] = stages[i].copy();
                out[i].subtract(earlier.stages[i]);
            }
            Histogram t = total.copy();
            t.subtract(earlier.total);
            Histogram d = delivery.copy();
            d.subtract(earlier.delivery);
            return new Snapshot(out, t, d);
        }

        Histogram stage(Stage s) {
            return stages[s.ordinal()];
        }

        void addTo(ScenarioResult r, String prefix) {
            r.add(prefix + "stage breakdown: appends", total.getTotalCount(), "");
            for (Stage s : Stage.values()) {
                r.addLatency(prefix + s.label, stages[s.ordinal()]);
            }
            r.addLatency(prefix + TOTAL, total);
            if (delivery.getTotalCount() > 0) {
                r.addLatency(prefix + DELIVERY, delivery);
            }
        }
    }

    /**
     * One stream's recent appends, by offset: the first of the two moments (visible, delivered) to
     * arrive waits in its slot for the other. A slot reused by a later offset drops the older one.
     */
    private static final class Ring {
        private final long[] offsets = new long[RING];
        private final long[] nanos = new long[RING];
        private final boolean[] visibleFirst = new boolean[RING];

        Ring() {
            java.util.Arrays.fill(offsets, -1);
        }

        synchronized void pair(long offset, long at, boolean visible, Histogram delivery) {
            int i = (int) (offset & (RING - 1));
            if (offsets[i] == offset && visibleFirst[i] != visible) {
                record(delivery, visible ? nanos[i] - at : at - nanos[i]);
                offsets[i] = -1;
            } else {
                offsets[i] = offset;
                nanos[i] = at;
                visibleFirst[i] = visible;
            }
        }
    }
}
