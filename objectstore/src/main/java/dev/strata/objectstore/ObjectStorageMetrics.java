package dev.strata.objectstore;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Counters per {@link Operation}: requests sent (each attempt counts, as each is billed), bytes
 * transferred (request bodies for writes, response bodies for reads), failed requests, throttled
 * requests (a subset of failed), and a latency histogram (microseconds, 3 significant digits).
 *
 * <p>Thread-safe; recording is lock-free ({@link LongAdder}, {@link ConcurrentHistogram}).
 * {@link #snapshot()} is not atomic across counters: each value is exact, but they may be from
 * slightly different moments.
 */
public final class ObjectStorageMetrics {

    /** Highest latency the histogram tracks before it auto-resizes: 1 hour in microseconds. */
    private static final long HIGHEST_TRACKABLE_MICROS = TimeUnit.HOURS.toMicros(1);

    private final Map<Operation, Counters> counters = new EnumMap<>(Operation.class);

    public ObjectStorageMetrics() {
        for (Operation op : Operation.values()) {
            counters.put(op, new Counters());
        }
    }

    /** Records one finished request. {@code outcome} is {@code null} on success. */
    public void record(Operation op, long bytes, long latencyNanos, ObjectStorageException.Kind outcome) {
        Counters c = counters.get(op);
        c.requests.increment();
        if (bytes > 0) {
            c.bytes.add(bytes);
        }
        if (outcome != null) {
            c.errors.increment();
            if (outcome == ObjectStorageException.Kind.THROTTLED) {
                c.throttles.increment();
            }
        }
        c.latencyMicros.recordValue(Math.max(0, Math.min(HIGHEST_TRACKABLE_MICROS, latencyNanos / 1000)));
    }

    /** A snapshot of one operation's counters. */
    public OperationStats stats(Operation op) {
        Counters c = counters.get(op);
        Histogram h = c.latencyMicros.copy();
        return new OperationStats(op, c.requests.sum(), c.bytes.sum(), c.errors.sum(), c.throttles.sum(),
                h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(50),
                h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(99),
                h.getMaxValue());
    }

    /** Snapshots of every operation. */
    public Map<Operation, OperationStats> snapshot() {
        Map<Operation, OperationStats> out = new EnumMap<>(Operation.class);
        for (Operation op : Operation.values()) {
            out.put(op, stats(op));
        }
        return out;
    }

    /** Total requests over all operations. */
    public long totalRequests() {
        long sum = 0;
        for (Counters c : counters.values()) {
            sum += c.requests.sum();
        }
        return sum;
    }

    /**
     * A one-line summary of every operation that saw a request, e.g.
     * {@code GET[requests=12 bytes=50331648 errors=0 throttles=0 p50=1843us p99=5023us max=5023us] PUT[...]},
     * for logs and request-cost reports.
     */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (OperationStats s : snapshot().values()) {
            if (s.requests() == 0) {
                continue;
            }
            if (sb.length() > 0) {
                sb.append(' ');
            }
            sb.append(s.operation()).append("[requests=").append(s.requests()).append(" bytes=").append(s.bytes())
                    .append(" errors=").append(s.errors()).append(" throttles=").append(s.throttles())
                    .append(" p50=").append(s.p50Micros()).append("us p99=").append(s.p99Micros())
                    .append("us max=").append(s.maxMicros()).append("us]");
        }
        return sb.length() == 0 ? "no requests" : sb.toString();
    }

    /** One operation's counters at one moment; latencies in microseconds. */
    public record OperationStats(Operation operation, long requests, long bytes, long errors, long throttles,
                                 long p50Micros, long p99Micros, long maxMicros) {
    }

    private static final class Counters {
        final LongAdder requests = new LongAdder();
        final LongAdder bytes = new LongAdder();
        final LongAdder errors = new LongAdder();
        final LongAdder throttles = new LongAdder();
        final ConcurrentHistogram latencyMicros = new ConcurrentHistogram(3);
    }
}
