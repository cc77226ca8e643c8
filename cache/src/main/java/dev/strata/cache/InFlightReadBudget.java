package dev.strata.cache;

import com.github.benmanes.caffeine.cache.Ticker;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.strata.api.BackpressureException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The global budget of bytes being loaded (requested from the loader and not yet in the cache).
 *
 * <p>Demand loads (a reader is waiting) that do not fit wait in a bounded FIFO and start when bytes
 * are released; when the FIFO is full they fail with {@link BackpressureException} at once, and a
 * load that waited longer than {@code maxWaitNanos} fails with it when its turn comes. A load is
 * only queued while bytes are held; the owner of this budget must make sure a release follows (the
 * {@link BlockCache} drops unread read-ahead while loads wait, so only loads in flight remain). Read-ahead loads
 * never wait: they run only if they fit under the prefetch share of the budget and no demand load is
 * waiting, so read-ahead cannot starve readers. A single load larger than the whole budget is
 * admitted when nothing else is in flight, so it cannot block forever.
 *
 * <p>Thread-safe: all state is guarded by {@code this}. Waiters admitted by {@link #release} run on
 * the releasing thread, outside the monitor.
 */
final class InFlightReadBudget {
    private final long limitBytes;
    private final long prefetchLimitBytes;
    private final int maxWaiting;
    private final long maxWaitNanos;
    private final Ticker ticker;
    @GuardedBy("this")
    private long inFlightBytes;
    @GuardedBy("this")
    private final ArrayDeque<Waiter> waiting = new ArrayDeque<>();

    private record Waiter(long bytes, long sinceNanos, Runnable start, Consumer<BackpressureException> reject) {
    }

    InFlightReadBudget(long limitBytes, long prefetchLimitBytes, int maxWaiting, long maxWaitNanos, Ticker ticker) {
        this.limitBytes = limitBytes;
        this.prefetchLimitBytes = prefetchLimitBytes;
        this.maxWaiting = maxWaiting;
        this.maxWaitNanos = maxWaitNanos;
        this.ticker = ticker;
    }

    /**
     * Acquires {@code bytes} for a demand load: returns true if acquired now (the caller starts the
     * load), false if queued ({@code start} runs once acquired, or {@code reject} when it waited too
     * long).
     *
     * @throws BackpressureException when the queue of waiting loads is full
     */
    synchronized boolean acquireOrWait(long bytes, Runnable start, Consumer<BackpressureException> reject) {
        if (waiting.isEmpty() && fits(bytes, limitBytes)) {
            inFlightBytes += bytes;
            return true;
        }
        if (waiting.size() >= maxWaiting) {
            throw new BackpressureException("block cache read budget exhausted: bytes=" + bytes + " inFlightBytes="
                    + inFlightBytes + " limitBytes=" + limitBytes + " waitingLoads=" + waiting.size());
        }
        waiting.addLast(new Waiter(bytes, ticker.read(), start, reject));
        return false;
    }

    /** Acquires {@code bytes} for a read-ahead load if it fits now; never waits. */
    synchronized boolean tryAcquirePrefetch(long bytes) {
        if (waiting.isEmpty() && inFlightBytes + bytes <= prefetchLimitBytes) {
            inFlightBytes += bytes;
            return true;
        }
        return false;
    }

    /**
     * Returns {@code bytes}, fails the waiting loads that waited too long, and starts those that now
     * fit, in FIFO order.
     */
    void release(long bytes) {
        List<Runnable> admitted = new ArrayList<>();
        List<Waiter> expired = new ArrayList<>();
        long now = ticker.read();
        synchronized (this) {
            inFlightBytes -= bytes;
            while (!waiting.isEmpty()) {
                Waiter w = waiting.peekFirst();
                if (now - w.sinceNanos() > maxWaitNanos) {
                    expired.add(waiting.pollFirst());
                } else if (fits(w.bytes(), limitBytes)) {
                    waiting.pollFirst();
                    inFlightBytes += w.bytes();
                    admitted.add(w.start());
                } else {
                    break;
                }
            }
        }
        for (Waiter w : expired) {
            w.reject().accept(new BackpressureException("block cache read waited too long for the in-flight budget: bytes="
                    + w.bytes() + " waitedNanos=" + (now - w.sinceNanos()) + " maxWaitNanos=" + maxWaitNanos
                    + " limitBytes=" + limitBytes));
        }
        for (Runnable r : admitted) {
            r.run();
        }
    }

    synchronized long inFlightBytes() {
        return inFlightBytes;
    }

    synchronized int waitingLoads() {
        return waiting.size();
    }

    @GuardedBy("this")
    private boolean fits(long bytes, long limit) {
        return inFlightBytes + bytes <= limit || inFlightBytes == 0;
    }
}
