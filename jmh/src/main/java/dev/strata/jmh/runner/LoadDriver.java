package dev.strata.jmh.runner;

import dev.strata.api.AppendResult;
import dev.strata.api.BackpressureException;
import dev.strata.api.RecordBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Appends one-record batches to a set of streams from a few driver threads, each owning a share of
 * the streams, for a duration (and optionally up to a number of records per stream).
 *
 * <p><b>Latency.</b> At a target rate every append has an intended start time on a fixed schedule;
 * {@link #latency} records acknowledgement time minus intended time, so a stall of the store counts
 * against every append it delayed (coordinated-omission correction), and {@link #serviceLatency}
 * records acknowledgement minus the actual call. At max rate (rate 0) both measure from the call.
 * The batch's base timestamp carries the intended time, so tail readers measure end-to-end latency.
 *
 * <p><b>Failures.</b> {@link BackpressureException} (retriable) is counted and the append retried;
 * any other failure is kept as {@link #failure()} and stops the drivers.
 */
final class LoadDriver {
    /** Appends in flight per stream: enough to keep group commit busy, bounded so memory is too. */
    static final int WINDOW_PER_STREAM = 8;
    /** Highest latency the histograms track. */
    static final long MAX_TRACKED_NANOS = TimeUnit.MINUTES.toNanos(2);

    private final List<StreamSlot> slots;
    private final int recordBytes;
    private final long rate;
    private final int threads;
    private final long recordsPerStream;
    private final Timeline timeline;
    final Histogram latency = new ConcurrentHistogram(MAX_TRACKED_NANOS, 3);
    final Histogram serviceLatency = new ConcurrentHistogram(MAX_TRACKED_NANOS, 3);
    final AtomicLong appended = new AtomicLong();
    final AtomicLong backpressure = new AtomicLong();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean stopped;
    private final List<Thread> running = new ArrayList<>();
    private long startNanos;
    private long endNanos;
    /** When the last driver thread saw its last append complete (System.nanoTime), 0 before. */
    private final AtomicLong finishedNanos = new AtomicLong();

    /**
     * @param rate target appends per second over all slots, 0 for max
     * @param recordsPerStream a slot stops after this many appends of this run (Long.MAX_VALUE: none)
     * @param timeline where acknowledgements and refusals are bucketed, or null
     */
    LoadDriver(List<StreamSlot> slots, int recordBytes, long rate, long recordsPerStream, Timeline timeline) {
        this.slots = List.copyOf(slots);
        this.recordBytes = recordBytes;
        this.rate = rate;
        this.threads = Math.max(1, Math.min(2, slots.size()));
        this.recordsPerStream = recordsPerStream;
        this.timeline = timeline;
    }

    /** Starts the drivers; they stop after {@code durationNanos}, at {@link #stop()}, or on a failure. */
    LoadDriver start(long durationNanos) {
        startNanos = System.nanoTime();
        long deadline = startNanos + durationNanos;
        for (int t = 0; t < threads; t++) {
            List<StreamSlot> owned = new ArrayList<>();
            for (int i = t; i < slots.size(); i += threads) {
                owned.add(slots.get(i));
            }
            Thread thread = new Thread(() -> drive(owned, deadline), "strata-bench-driver-" + t);
            thread.setDaemon(true);
            running.add(thread);
            thread.start();
        }
        return this;
    }

    /** Asks the drivers to stop early; {@link #await()} still waits for appends in flight. */
    void stop() {
        stopped = true;
    }

    /** Waits until every driver finished and every append it made completed; returns this. */
    LoadDriver await() throws InterruptedException {
        for (Thread t : running) {
            t.join();
        }
        long finished = finishedNanos.get();
        endNanos = finished != 0 ? finished : System.nanoTime(); // not the time of this call: it may come late
        return this;
    }

    /**
     * Run time from start to the last acknowledgement, in nanoseconds (to when the last driver
     * thread saw its appends complete, even if {@link #await()} was called later).
     */
    long elapsedNanos() {
        return endNanos - startNanos;
    }

    /** Appends per second over the run. */
    double appendsPerSecond() {
        return appended.get() * 1e9 / Math.max(1, elapsedNanos());
    }

    /** The first failure other than backpressure, or null. */
    Throwable failure() {
        return failure.get();
    }

    /** Throws the failure, if any, as the scenario's failure. */
    void rethrowFailure() {
        Throwable t = failure.get();
        if (t != null) {
            throw new IllegalStateException("append failed (not retriable backpressure): " + t, t);
        }
    }

    private void drive(List<StreamSlot> owned, long deadline) {
        int window = WINDOW_PER_STREAM * owned.size();
        Semaphore permits = new Semaphore(window);
        long intervalNanos = rate > 0 ? Math.max(1, 1_000_000_000L * threads / rate) : 0;
        long base = System.nanoTime();
        int finished = 0;
        boolean[] done = new boolean[owned.size()];
        long[] sent = new long[owned.size()];
        try {
            for (long k = 0; !stopped && failure.get() == null && finished < owned.size(); k++) {
                long intended = rate > 0 ? base + k * intervalNanos : System.nanoTime();
                if (intended - deadline >= 0) {
                    break;
                }
                if (rate > 0) {
                    waitUntil(intended);
                }
                int index = (int) (k % owned.size());
                if (done[index]) {
                    continue;
                }
                permits.acquire();
                if (!append(owned.get(index), intended, deadline, permits)) {
                    break;
                }
                if (++sent[index] >= recordsPerStream) {
                    done[index] = true;
                    finished++;
                }
            }
            permits.acquire(window); // every append of this driver completed
            long now = System.nanoTime();
            finishedNanos.accumulateAndGet(now, (a, b) -> a == 0 ? b : Math.max(a, b));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure.compareAndSet(null, e);
        }
    }

    /** Appends the slot's next record, retrying backpressure until the deadline; false to stop. */
    private boolean append(StreamSlot slot, long intended, long deadline, Semaphore permits) {
        long offset = slot.next;
        while (true) {
            long call = System.nanoTime();
            CompletableFuture<AppendResult> f = slot.stream.append(
                    RecordBatch.of(1, intended, Payloads.payload(slot.id(), offset, recordBytes)));
            if (f.isCompletedExceptionally() && !isBackpressure(f)) {
                f.whenComplete((r, e) -> failure.compareAndSet(null, unwrap(e))); // refused: takes no offset
                permits.release();
                return false;
            }
            if (f.isCompletedExceptionally()) {
                backpressure.incrementAndGet();
                if (timeline != null) {
                    timeline.backpressure(call);
                }
                if (stopped || System.nanoTime() - deadline >= 0) {
                    permits.release();
                    return false;
                }
                continue;
            }
            slot.next = offset + 1;
            f.whenComplete((r, e) -> {
                long now = System.nanoTime();
                if (e != null) {
                    failure.compareAndSet(null, unwrap(e));
                } else if (r.baseOffset() != offset) {
                    failure.compareAndSet(null, new VerificationException("append acknowledged at another offset: stream="
                            + slot.id() + " expected=" + offset + " got=" + r.baseOffset()));
                } else {
                    slot.acked = offset + 1;
                    appended.incrementAndGet();
                    latency.recordValue(Math.min(MAX_TRACKED_NANOS, now - intended));
                    serviceLatency.recordValue(Math.min(MAX_TRACKED_NANOS, now - call));
                    if (timeline != null) {
                        timeline.ack(now, now - intended);
                    }
                }
                permits.release();
            });
            return true;
        }
    }

    private static boolean isBackpressure(CompletableFuture<?> f) {
        try {
            f.join();
            return false;
        } catch (CompletionException e) {
            return e.getCause() instanceof BackpressureException;
        }
    }

    static Throwable unwrap(Throwable e) {
        return e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    }

    /**
     * Parks until {@code nanos}, never spinning: on two cores a spinning driver takes the CPU the
     * store's own threads (WAL completions, uploads) need, and its appends then wait for a core, not
     * for the store (JFR: 55% of all CPU samples in the spin loop at 18,000 appends/s). Parking
     * wakes up to about the kernel's timer slack (50 us) late; the append then starts late and that
     * lateness counts against the store in {@link #latency}, which is conservative.
     */
    private static void waitUntil(long nanos) {
        long left;
        while ((left = nanos - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
        }
    }
}
