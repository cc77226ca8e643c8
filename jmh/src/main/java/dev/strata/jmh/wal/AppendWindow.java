package dev.strata.jmh.wal;

import dev.strata.api.BackpressureException;
import dev.strata.wal.api.WalAppendResult;
import dev.strata.wal.api.WriteAheadLog;
import io.netty.buffer.ByteBuf;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What the WAL benchmarks ({@link WalAppendBenchmark}, {@link ObjectStoreWalBenchmark}) share: one
 * appender's window of appends in flight (JMH thread state), and the append they make, retried while
 * the WAL refuses it for room, timed to its acknowledgement, trimming the WAL once it is half full.
 */
@State(Scope.Thread)
public class AppendWindow {
    private final ArrayDeque<CompletableFuture<WalAppendResult>> inFlight = new ArrayDeque<>();

    /** Waits for every append still in flight at the end of an iteration. */
    @TearDown(Level.Iteration)
    public void drain() {
        while (!inFlight.isEmpty()) {
            inFlight.poll().join();
        }
    }

    /**
     * Once {@code window} appends are in flight waits for the oldest, then submits the next.
     *
     * @return the acknowledgement waited for, or null if none was
     */
    WalAppendResult next(int window, Supplier<CompletableFuture<WalAppendResult>> submit) {
        WalAppendResult done = null;
        if (inFlight.size() >= window) {
            done = inFlight.poll().join();
        }
        inFlight.add(submit.get());
        return done;
    }

    /**
     * Appends a duplicate of {@code template}, again at once while the WAL refuses it with
     * {@link BackpressureException} (nothing was written; {@code onBackpressure} counts it); records
     * the latency from the accepted call to the acknowledgement and the highest durable position, and
     * trims the WAL to it once more than half of its capacity is used.
     */
    static CompletableFuture<WalAppendResult> append(WriteAheadLog wal, ByteBuf template, Histogram latencyNanos,
            AtomicLong durableNext, Runnable onBackpressure) {
        while (true) {
            long start = System.nanoTime();
            CompletableFuture<WalAppendResult> f = wal.append(template.retainedDuplicate());
            if (f.isCompletedExceptionally()) {
                Throwable e = f.handle((r, t) -> t instanceof CompletionException c ? c.getCause() : t).join();
                if (e instanceof BackpressureException) {
                    onBackpressure.run();
                    Thread.onSpinWait();
                    continue;
                }
                f.join();
            }
            return f.thenApply(r -> {
                latencyNanos.recordValue(System.nanoTime() - start);
                long next = durableNext.accumulateAndGet(r.nextPosition(), Math::max);
                if (wal.used() > wal.capacity() / 2) {
                    wal.trim(next);
                }
                return r;
            });
        }
    }
}
