package dev.strata.jmh.core;

import dev.strata.api.AppendResult;
import dev.strata.api.BackpressureException;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.Strata;
import dev.strata.objectstore.LocalObjectStorage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
 * End-to-end durable appends through {@code StreamStore} on the embedded default (WAL file and
 * local object directory under {@code -Dstrata.bench.dir}, default the temp directory), with
 * uploads running: throughput (appends/s) and latency percentiles (append call to acknowledgement,
 * HdrHistogram, printed per iteration as a {@code STORE-LATENCY} line).
 *
 * <p>Each JMH thread appends to its own stream and keeps {@code window} appends in flight; run with
 * {@code -t 16} for 16 streams (total in flight = threads x window), comparable with
 * {@code WalAppendBenchmark} at the same record size, threads and window.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "-XX:MaxDirectMemorySize=2g"})
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 4)
public class StreamStoreAppendBenchmark {

    @Param({"4096"})
    public int batchBytes;

    /** Appends each appender (stream) keeps in flight. */
    @Param({"4"})
    public int window;

    /** UNSAFE when true: WAL without sync; for comparison only. */
    @Param({"false"})
    public boolean unsafeSkipSync;

    /**
     * Where objects go: empty for the embedded default (a directory under the data directory, on the
     * same disk as the WAL, so every byte is written to that disk twice), or a directory such as
     * {@code /dev/shm/strata-objects} (memory) to measure the engine without the objects' disk writes.
     */
    @Param({""})
    public String objectDir;

    /**
     * When true, completions run on the thread that reports durability (the store's
     * {@code callbackExecutor(Runnable::run)}) instead of the stream's lane: measures the lane hop.
     */
    @Param({"false"})
    public boolean directCallbacks;

    /**
     * When true, data objects leave the machine as they do with S3 ({@link OffDiskDataObjects}: their
     * bytes are read once through a CRC32C, then dropped) and the manifest goes to a local directory
     * in memory ({@code /dev/shm} where there is one): measures what the engine adds to its WAL,
     * without the second write of every byte (and the manifest's fsyncs) on the WAL's disk that the
     * embedded default makes. Only for this write benchmark: nothing reads objects back (compaction's
     * first cycle is 5 minutes away). Takes precedence over {@link #objectDir}.
     */
    @Param({"false"})
    public boolean offDiskObjects;

    /** The store's {@code walCallerWritesWhenIdle} (its default: true). */
    @Param({"true"})
    public boolean callerWrites;

    Path dir;
    Path objects;
    DurableStreamStore store;
    Path manifest;
    LocalObjectStorage manifestStorage;
    OffDiskDataObjects offDisk;
    final List<Stream> streams = new ArrayList<>();
    final AtomicInteger nextStream = new AtomicInteger();
    final AtomicLong backpressureRetries = new AtomicLong();
    final Histogram latencyNanos = new ConcurrentHistogram(TimeUnit.SECONDS.toNanos(10), 3);
    ByteBuffer payload;

    @Setup(Level.Trial)
    public void open() throws IOException {
        dir = BenchDirs.create("strata-store-bench");
        Strata.Builder builder = Strata.builder().dataDir(dir);
        if (offDiskObjects) {
            manifest = java.nio.file.Files.createTempDirectory(memoryDir(), "strata-store-bench-manifest");
            manifestStorage = LocalObjectStorage.open(manifest);
            offDisk = new OffDiskDataObjects(manifestStorage);
            builder.objectStorage(offDisk);
        } else if (!objectDir.isEmpty()) {
            objects = java.nio.file.Files.createTempDirectory(java.nio.file.Files.createDirectories(Path.of(objectDir)),
                    "strata-store-bench-objects");
            builder.objectStore(objects.toUri());
        }
        if (directCallbacks) {
            builder.callbackExecutor(Runnable::run);
        }
        store = builder
                .walCapacity(1L << 30)
                .logCacheBytes(512L << 20)
                .uploadThresholdBytes(64L << 20)
                .uploadInterval(Duration.ofSeconds(5))
                .maxBatchBytes(Math.max(1 << 20, batchBytes))
                .unsafeSkipWalSync(unsafeSkipSync)
                .walCallerWritesWhenIdle(callerWrites)
                .build();
        for (int i = 0; i < 64; i++) {
            streams.add(store.createStream(StreamOptions.defaults()).join());
        }
        byte[] bytes = new byte[batchBytes];
        new SplittableRandom(1).nextBytes(bytes);
        payload = ByteBuffer.wrap(bytes).asReadOnlyBuffer();
    }

    /** Where the manifest goes with {@link #offDiskObjects}: memory ({@code /dev/shm}) where there is one. */
    private static Path memoryDir() {
        Path shm = Path.of("/dev/shm");
        return java.nio.file.Files.isDirectory(shm) && java.nio.file.Files.isWritable(shm) ? shm
                : Path.of(System.getProperty("java.io.tmpdir"));
    }

    @Setup(Level.Iteration)
    public void resetHistogram() {
        latencyNanos.reset();
        backpressureRetries.set(0);
    }

    @TearDown(Level.Iteration)
    public void printLatency() {
        System.out.printf("%nSTORE-LATENCY walBackend=%s batchBytes=%d window=%d appends=%d p50=%dus p99=%dus p99.9=%dus max=%dus backpressureRetries=%d%n",
                store.walBackend(), batchBytes, window, latencyNanos.getTotalCount(),
                latencyNanos.getValueAtPercentile(50) / 1000, latencyNanos.getValueAtPercentile(99) / 1000,
                latencyNanos.getValueAtPercentile(99.9) / 1000, latencyNanos.getMaxValue() / 1000,
                backpressureRetries.get());
    }

    @TearDown(Level.Trial)
    public void close() {
        store.close();
        if (offDisk != null) {
            System.out.printf("%nOFF-DISK-OBJECTS dataObjectBytes=%d puts=%s%n", offDisk.dataObjectBytes(), offDisk.metrics());
            manifestStorage.close();
            BenchDirs.delete(manifest);
        }
        BenchDirs.delete(dir);
        if (objects != null) {
            BenchDirs.delete(objects);
        }
    }

    /** One appender: its own stream and window of appends in flight. */
    @State(Scope.Thread)
    public static class Appender {
        Stream stream;
        final ArrayDeque<CompletableFuture<AppendResult>> inFlight = new ArrayDeque<>();

        @Setup(Level.Trial)
        public void pick(StreamStoreAppendBenchmark bench) {
            stream = bench.streams.get(bench.nextStream.getAndIncrement() % bench.streams.size());
        }

        @TearDown(Level.Iteration)
        public void drain() {
            while (!inFlight.isEmpty()) {
                inFlight.poll().join();
            }
        }
    }

    @Benchmark
    public AppendResult append(Appender appender) {
        AppendResult done = null;
        if (appender.inFlight.size() >= window) {
            done = appender.inFlight.poll().join();
        }
        appender.inFlight.add(submit(appender.stream));
        return done;
    }

    private CompletableFuture<AppendResult> submit(Stream stream) {
        while (true) {
            long start = System.nanoTime();
            CompletableFuture<AppendResult> f = stream.append(RecordBatch.of(1, payload.duplicate()));
            if (f.isCompletedExceptionally()) {
                try {
                    f.join();
                } catch (CompletionException e) {
                    if (e.getCause() instanceof BackpressureException) {
                        backpressureRetries.incrementAndGet();
                        Thread.onSpinWait();
                        continue;
                    }
                    throw e;
                }
            }
            return f.whenComplete((r, e) -> latencyNanos.recordValue(System.nanoTime() - start));
        }
    }
}
