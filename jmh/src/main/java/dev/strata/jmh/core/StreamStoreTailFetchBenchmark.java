package dev.strata.jmh.core;

import dev.strata.api.FetchResult;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.Strata;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
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
 * Tail fetch of just-appended data (the LogCache path a tailing consumer takes): one fetch of the
 * last {@code batches} batches of a stream, payloads touched, result closed. SampleTime mode
 * reports percentiles (p50/p99/p99.9) of the fetch call itself.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g", "-XX:MaxDirectMemorySize=1g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class StreamStoreTailFetchBenchmark {

    @Param({"4096"})
    public int batchBytes;

    /** How many of the newest batches each fetch returns. */
    @Param({"1", "16"})
    public int batches;

    Path dir;
    DurableStreamStore store;
    Stream stream;

    @Setup(Level.Trial)
    public void open() throws IOException {
        dir = BenchDirs.create("strata-fetch-bench");
        store = Strata.builder().dataDir(dir).walCapacity(256L << 20).logCacheBytes(128L << 20)
                .uploadThresholdBytes(32L << 20).build();
        stream = store.createStream(StreamOptions.defaults()).join();
        byte[] bytes = new byte[batchBytes];
        for (int i = 0; i < 256; i++) {
            stream.append(RecordBatch.of(1, ByteBuffer.wrap(bytes))).join();
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        store.close();
        BenchDirs.delete(dir);
    }

    @Benchmark
    public long tailFetch() {
        long from = stream.nextOffset() - batches;
        try (FetchResult r = stream.fetch(from, Long.MAX_VALUE, Integer.MAX_VALUE).join()) {
            long sum = 0;
            for (var b : r.batches()) {
                sum += b.payload().get(0);
            }
            return sum;
        }
    }
}
