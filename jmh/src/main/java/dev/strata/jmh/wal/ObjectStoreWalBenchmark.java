package dev.strata.jmh.wal;

import dev.strata.objectstore.ForwardingObjectStorage;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.PutCondition;
import dev.strata.wal.api.WalAppendResult;
import dev.strata.wal.objectstore.ObjectStoreWal;
import dev.strata.wal.objectstore.ObjectWalOptions;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Appends to the object-store WAL: throughput (appends/s; times recordBytes for bytes/s), and, per
 * iteration, an {@code OBJWAL} line with latency percentiles (append call to acknowledgement),
 * MiB/s, PUTs per second and PUTs per GiB appended. The objects go to a {@link LocalObjectStorage}
 * in {@code -Dstrata.bench.dir} (default {@code /dev/shm}) behind an injected PUT latency
 * ({@code putLatencyMs}: 20 ms is about S3 Express, 100 ms about S3 Standard), so the numbers show
 * the WAL's batching and pipelining, not a disk. One appender thread keeps {@code window} appends in
 * flight; the benchmark trims behind itself.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:MaxDirectMemorySize=2g"})
@Warmup(iterations = 1, time = 3)
@Measurement(iterations = 2, time = 5)
public class ObjectStoreWalBenchmark {

    @Param({"4096", "65536"})
    public int recordBytes;

    /** Appends kept in flight. */
    @Param({"1", "16", "256"})
    public int window;

    @Param({"20", "100"})
    public int putLatencyMs;

    @Param({"50"})
    public int flushIntervalMs;

    /** {@code ObjectWalOptions.earlyFlush}: seal at once when no PUT is in flight (the default: the option's). */
    @Param({"false"})
    public boolean earlyFlush;

    Path dir;
    ObjectStorage local;
    ScheduledExecutorService delays;
    ObjectStoreWal wal;
    ByteBuf template;
    final AtomicLong puts = new AtomicLong();
    final AtomicLong appendedBytes = new AtomicLong();
    final AtomicLong durableNext = new AtomicLong();
    final Histogram latencyNanos = new ConcurrentHistogram(TimeUnit.SECONDS.toNanos(60), 3);
    long iterationStart;

    @Setup(Level.Trial)
    public void open() throws IOException {
        Path base = Path.of(System.getProperty("strata.bench.dir", "/dev/shm"));
        dir = Files.createTempDirectory(base, "strata-objwal-bench");
        local = LocalObjectStorage.open(dir);
        delays = Executors.newSingleThreadScheduledExecutor();
        Executor delayed = CompletableFuture.delayedExecutor(putLatencyMs, TimeUnit.MILLISECONDS, delays);
        ObjectStorage slow = new ForwardingObjectStorage(local) {
            @Override
            public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
                puts.incrementAndGet();
                return delegate.put(key, data, condition).thenApplyAsync(i -> i, delayed);
            }
        };
        wal = ObjectStoreWal.open(slow, ObjectWalOptions.builder("bench")
                .flushIntervalNanos(TimeUnit.MILLISECONDS.toNanos(flushIntervalMs))
                .earlyFlush(earlyFlush)
                .maxPutsInFlight(64)
                .maxBufferedBytes(512L << 20)
                .capacityBytes(1L << 30)
                .build());
        byte[] bytes = new byte[recordBytes];
        new SplittableRandom(1).nextBytes(bytes);
        template = PooledByteBufAllocator.DEFAULT.directBuffer(recordBytes).writeBytes(bytes);
    }

    @Setup(Level.Iteration)
    public void reset() {
        latencyNanos.reset();
        puts.set(0);
        appendedBytes.set(0);
        iterationStart = System.nanoTime();
    }

    @TearDown(Level.Iteration)
    public void print() {
        double seconds = (System.nanoTime() - iterationStart) / 1e9;
        double gib = appendedBytes.get() / (double) (1L << 30);
        System.out.printf("%nOBJWAL recordBytes=%d window=%d putLatencyMs=%d flushIntervalMs=%d earlyFlush=%b appends=%d "
                        + "MiBps=%.1f p50=%.1fms p99=%.1fms puts/s=%.1f puts/GiB=%.0f%n",
                recordBytes, window, putLatencyMs, flushIntervalMs, earlyFlush, latencyNanos.getTotalCount(),
                appendedBytes.get() / (double) (1 << 20) / seconds, latencyNanos.getValueAtPercentile(50) / 1e6,
                latencyNanos.getValueAtPercentile(99) / 1e6, puts.get() / seconds, gib == 0 ? 0 : puts.get() / gib);
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        wal.close();
        template.release();
        delays.shutdownNow();
        local.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }

    @Benchmark
    public WalAppendResult append(AppendWindow appender) {
        return appender.next(window, () -> AppendWindow.append(wal, template, latencyNanos, durableNext, () -> { })
                .thenApply(r -> {
                    appendedBytes.addAndGet(recordBytes);
                    return r;
                }));
    }
}
