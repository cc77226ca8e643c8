package dev.strata.kafka.broker;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A Fetch that waits for data: Kafka's {@code max.wait.ms} / {@code min.bytes} long poll, without
 * polling. It reads once; if that returns fewer than {@code minBytes} (and no error), it waits until
 * an append to one of its partitions wakes it (then it reads again) or {@code maxWaitMs} pass (then
 * it answers with what the last read found). A read that a quota throttles is answered at once.
 *
 * <h2>Concurrency</h2>
 * {@code this} guards {@code reading}, {@code woken}, {@code expired} and {@code last}. At most one
 * read runs at a time. The listener is registered on every partition <em>before</em> the first
 * read, so an append that lands while a read runs is not missed: it sets {@code woken}, and the
 * read's completion reads again instead of waiting. Wake-ups arrive on Strata's completion threads
 * and the expiry on the broker's scheduler thread; neither blocks (a read is asynchronous).
 *
 * <h2>Ownership of outcomes</h2>
 * An outcome may hold the log's fetch buffers ({@link ReadOutcome#close()} releases them). The
 * outcome the returned future completes with belongs to its consumer; every other one is closed
 * here: the previous outcome when a newer read replaces it, the last one when a read fails, and an
 * outcome that arrives after the expiry already answered.
 */
final class DelayedFetch<R extends DelayedFetch.ReadOutcome> implements Partition.AppendListener {

    /** What one read of all the fetch's partitions found. */
    interface ReadOutcome extends AutoCloseable {
        /** Bytes of records read. */
        int bytes();

        /** Whether a partition answered with an error (the fetch is then answered at once, as Kafka's). */
        boolean hasError();

        /**
         * Whether a quota asks the client to wait ({@code throttle_time_ms} &gt; 0): the fetch is then
         * answered at once, with what it read, and the client waits before fetching again.
         */
        default boolean throttled() {
            return false;
        }

        /** Releases the buffers behind the records read; idempotent, never throws. */
        @Override
        void close();
    }

    private final Supplier<CompletableFuture<R>> read;
    private final int minBytes;
    private final List<Partition> partitions;
    private final CompletableFuture<R> result = new CompletableFuture<>();
    private ScheduledFuture<?> timeout; // guarded by: this
    private boolean reading = true; // guarded by: this; the first read starts in run()
    private boolean woken; // guarded by: this
    private boolean expired; // guarded by: this
    private R last; // guarded by: this; owned here until handed to the result

    private DelayedFetch(Supplier<CompletableFuture<R>> read, int minBytes, List<Partition> partitions) {
        this.read = read;
        this.minBytes = minBytes;
        this.partitions = partitions;
    }

    /**
     * Reads with {@code read} until it returns at least {@code minBytes} or an error, or
     * {@code maxWaitMs} have passed, waking on appends to {@code partitions}.
     *
     * @return the outcome of the last read; fails if a read fails
     */
    static <R extends ReadOutcome> CompletableFuture<R> run(Supplier<CompletableFuture<R>> read, int minBytes,
                                                            int maxWaitMs, List<Partition> partitions,
                                                            ScheduledExecutorService scheduler) {
        if (maxWaitMs <= 0 || minBytes <= 0 || partitions.isEmpty()) {
            return read.get();
        }
        DelayedFetch<R> fetch = new DelayedFetch<>(read, minBytes, partitions);
        partitions.forEach(p -> p.addListener(fetch));
        synchronized (fetch) {
            fetch.timeout = scheduler.schedule(fetch::expire, maxWaitMs, TimeUnit.MILLISECONDS);
        }
        fetch.result.whenComplete((r, e) -> fetch.cleanUp());
        fetch.doRead();
        return fetch.result;
    }

    /** Starts a read; the caller has set {@code reading} and cleared {@code woken} under the lock. */
    private void doRead() {
        CompletableFuture<R> attempt;
        try {
            attempt = read.get();
        } catch (RuntimeException e) {
            attempt = CompletableFuture.failedFuture(e);
        }
        attempt.whenComplete(this::onRead);
    }

    private void onRead(R outcome, Throwable error) {
        R superseded; // closed here: replaced, or the read failed
        R late = null; // closed here: the expiry answered before this read completed
        boolean again = false;
        synchronized (this) {
            reading = false;
            superseded = last;
            last = null;
            if (error != null) {
                result.completeExceptionally(error);
            } else if (result.isDone()) {
                late = outcome;
            } else if (outcome.bytes() >= minBytes || outcome.hasError() || outcome.throttled() || expired) {
                if (!result.complete(outcome)) {
                    outcome.close();
                }
            } else {
                last = outcome;
                if (woken) { // else wait for an append or the timeout
                    reading = true;
                    woken = false;
                    again = true;
                }
            }
        }
        if (superseded != null) {
            superseded.close();
        }
        if (late != null) {
            late.close();
        }
        if (again) {
            doRead();
        }
    }

    @Override
    public void onAppend() {
        synchronized (this) {
            woken = true;
            if (reading || result.isDone()) {
                return; // the running read's completion reads again
            }
            reading = true;
            woken = false;
        }
        doRead();
    }

    private void expire() {
        R answer;
        synchronized (this) {
            expired = true;
            if (reading) {
                return; // the running read's completion answers
            }
            answer = last; // not reading: nothing was appended since the last read
            last = null;
        }
        if (answer == null) {
            return; // a read's completion answered already
        }
        if (!result.complete(answer)) {
            answer.close();
        }
    }

    private void cleanUp() {
        partitions.forEach(p -> p.removeListener(this));
        synchronized (this) {
            timeout.cancel(false);
        }
    }
}
