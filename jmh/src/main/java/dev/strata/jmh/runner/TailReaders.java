package dev.strata.jmh.runner;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Tailing readers: one thread polls every stream at its read position (a fetch at the end returns
 * empty at once), verifies each record's bytes and records end-to-end latency, from the append's
 * intended time (the batch's base timestamp, see {@link LoadDriver}) to the moment it was read.
 * After {@link #finishAndAwait} it reads until each stream reaches its acknowledged end, then stops.
 */
final class TailReaders {
    /** Pause after a round that found nothing new: a poller's interval, short next to latencies measured. */
    static final long IDLE_PARK_NANOS = TimeUnit.MICROSECONDS.toNanos(100);

    private final List<StreamSlot> slots;
    private final int recordBytes;
    private final long[] positions;
    final Histogram latency = new ConcurrentHistogram(LoadDriver.MAX_TRACKED_NANOS, 3);
    final AtomicLong recordsRead = new AtomicLong();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean finishing;
    private final Thread thread;
    /** Receives each delivery for the tail's stage breakdown, or null. */
    private final StageRecorder stages;

    /** @param stages pairs each batch's delivery with its append's visible moment ({@code --stages}), or null */
    TailReaders(List<StreamSlot> slots, int recordBytes, StageRecorder stages) {
        this.stages = stages == null ? null : stages.trackDelivery();
        this.slots = List.copyOf(slots);
        this.recordBytes = recordBytes;
        this.positions = new long[slots.size()];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = slots.get(i).stream.nextOffset();
        }
        this.thread = new Thread(this::run, "strata-bench-tail");
        this.thread.setDaemon(true);
    }

    TailReaders start() {
        thread.start();
        return this;
    }

    /** Lets the readers stop once every stream is read up to its acknowledged end, and waits for that. */
    void finishAndAwait() throws InterruptedException {
        finishing = true;
        thread.join();
        Throwable t = failure.get();
        if (t instanceof VerificationException v) {
            throw v;
        }
        if (t != null) {
            throw new IllegalStateException("tail read failed: " + t, t);
        }
    }

    private void run() {
        try {
            while (true) {
                boolean end = finishing; // read before the round: a round after it saw every final ack
                boolean progress = false;
                boolean caughtUp = true;
                for (int i = 0; i < slots.size(); i++) {
                    StreamSlot slot = slots.get(i);
                    long acked = slot.acked;
                    if (positions[i] < slot.stream.nextOffset()) {
                        progress |= poll(i, slot);
                    }
                    caughtUp &= positions[i] >= acked;
                }
                if (end && caughtUp) {
                    return;
                }
                if (!progress) {
                    LockSupport.parkNanos(IDLE_PARK_NANOS);
                }
            }
        } catch (RuntimeException | Error e) {
            failure.set(LoadDriver.unwrap(e));
        }
    }

    private boolean poll(int i, StreamSlot slot) {
        try (FetchResult r = slot.stream.fetch(positions[i], Long.MAX_VALUE, Verifier.FETCH_BYTES).join()) {
            long now = System.nanoTime();
            for (FetchedBatch b : r.batches()) {
                Payloads.verify(slot.id(), positions[i], recordBytes, b);
                latency.recordValue(Math.max(0, Math.min(LoadDriver.MAX_TRACKED_NANOS, now - b.baseTimestamp())));
                if (stages != null) {
                    stages.delivered(slot.id(), b.baseOffset(), now);
                }
                positions[i] = b.nextOffset();
                recordsRead.incrementAndGet();
            }
            return !r.isEmpty();
        }
    }
}
