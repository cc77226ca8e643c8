package dev.strata.jmh.wal;

import dev.strata.wal.BlockDeviceWal;
import dev.strata.wal.UnsupportedWalFormatException;
import dev.strata.wal.WalOptions;
import dev.strata.wal.api.WalAppendResult;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
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
 * Durable WAL appends: throughput (appends/s; multiply by recordBytes for bytes/s) and latency
 * percentiles (append call to durable completion, HdrHistogram, printed at the end of each
 * iteration as a {@code WAL-LATENCY} line) for each record size, backend and appender count.
 *
 * <p>Each JMH thread is one appender keeping {@code window} appends in flight: an operation submits
 * one append and, once the window is full, waits for the oldest. Run with {@code -t 1}, {@code -t 4}
 * or {@code -t 16}; total appends in flight = threads x window. The WAL file lives in
 * {@code -Dstrata.bench.dir} (default: the temp directory), is preallocated once and reused by
 * later runs; the benchmark trims behind itself so the ring never fills.
 *
 * <p>Needs JDK 22+ for the pwritev2 and io_uring backends; the fork adds {@code --enable-native-access=ALL-UNNAMED}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "-XX:MaxDirectMemorySize=2g"})
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 4)
public class WalAppendBenchmark {

    @Param({"4096"})
    public int recordBytes;

    @Param({"PWRITE", "IO_URING", "DIRECT"})
    public String backend;

    /** Appends each appender keeps in flight. */
    @Param({"1"})
    public int window;

    /** Writes the WAL keeps in flight (group commits overlapping their syncs); 4 is the WAL's default. */
    @Param({"4"})
    public int maxInFlightWrites;

    /**
     * An append finding no write in flight writes on its own thread
     * ({@code WalOptions.Builder.callerWritesWhenIdle}; pwritev2 and io_uring backends).
     */
    @Param({"false"})
    public boolean callerWrites;

    /** UNSAFE when true: no sync; for comparison only. */
    @Param({"false"})
    public boolean unsafeSkipSync;

    BlockDeviceWal wal;
    ByteBuf template;
    final AtomicLong durableNext = new AtomicLong();
    final AtomicLong backpressureRetries = new AtomicLong();
    final Histogram latencyNanos = new ConcurrentHistogram(TimeUnit.SECONDS.toNanos(10), 3);

    @Setup(Level.Trial)
    public void open() {
        Path dir = Path.of(System.getProperty("strata.bench.dir", System.getProperty("java.io.tmpdir")));
        WalOptions.Builder options = WalOptions.builder(dir.resolve("strata-wal-bench.dat"));
        options.callerWritesWhenIdle(callerWrites);
        options.backend(WalOptions.Backend.valueOf(backend))
                .capacityBytes(1L << 30)
                .maxInFlightWrites(maxInFlightWrites)
                .unsafeSkipSync(unsafeSkipSync);
        try {
            wal = BlockDeviceWal.open(options.build());
        } catch (UnsupportedWalFormatException e) {
            // left by a build with another WAL format; the benchmark's data is expendable
            deleteQuietly(dir.resolve("strata-wal-bench.dat"));
            wal = BlockDeviceWal.open(options.build());
        }
        String expected = switch (backend) {
            case "PWRITE" -> "pwritev2";
            case "IO_URING" -> "io_uring";
            default -> "filechannel-direct";
        };
        if (!wal.backend().equals(expected)) {
            throw new IllegalStateException("unexpected backend: " + wal.backend());
        }
        // everything the previous run left is no longer needed
        durableNext.set(wal.recoveryReport().endPosition());
        wal.trim(durableNext.get()).join();
        byte[] bytes = new byte[recordBytes];
        new SplittableRandom(1).nextBytes(bytes);
        template = PooledByteBufAllocator.DEFAULT.directBuffer(recordBytes).writeBytes(bytes);
    }

    private static void deleteQuietly(Path file) {
        try {
            java.nio.file.Files.deleteIfExists(file);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Setup(Level.Iteration)
    public void resetHistogram() {
        latencyNanos.reset();
        backpressureRetries.set(0);
    }

    @TearDown(Level.Iteration)
    public void printLatency() {
        System.out.printf("%nWAL-LATENCY backend=%s recordBytes=%d window=%d appends=%d p50=%dus p99=%dus p99.9=%dus max=%dus backpressureRetries=%d%n",
                wal.backend(), recordBytes, window, latencyNanos.getTotalCount(),
                latencyNanos.getValueAtPercentile(50) / 1000, latencyNanos.getValueAtPercentile(99) / 1000,
                latencyNanos.getValueAtPercentile(99.9) / 1000, latencyNanos.getMaxValue() / 1000,
                backpressureRetries.get());
    }

    @TearDown(Level.Trial)
    public void close() {
        wal.trim(durableNext.get()).join();
        wal.close();
        template.release();
    }

    @Benchmark
    public WalAppendResult append(AppendWindow appender) {
        return appender.next(window,
                () -> AppendWindow.append(wal, template, latencyNanos, durableNext, backpressureRetries::incrementAndGet));
    }
}
