package dev.strata.jmh.core;

import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.Strata;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Metadata changes issued at once (issue 19): each invocation issues {@code concurrency} calls of
 * one kind without waiting, then waits for all of them; the score is changes per second. On the
 * embedded default (the manifest in a local directory). Kinds: {@code createStream},
 * {@code openStream} with a new epoch (a failover reopening every partition), {@code trim}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g", "-XX:MaxDirectMemorySize=1g"})
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
public class MetadataBenchmark {
    static final int CONCURRENCY = 1000;

    Path dir;
    DurableStreamStore store;
    final List<Stream> streams = new ArrayList<>();
    long epoch = 1;
    long trimTo;

    @Setup(Level.Trial)
    public void open() throws IOException {
        dir = BenchDirs.create("strata-metadata-bench");
        store = Strata.builder().dataDir(dir).walCapacity(256L << 20).build();
        List<CompletableFuture<Stream>> created = new ArrayList<>();
        for (int i = 0; i < CONCURRENCY; i++) {
            created.add(store.createStream(StreamOptions.defaults()));
        }
        for (CompletableFuture<Stream> f : created) {
            Stream s = f.join();
            // one batch of many records, so that every trim of the benchmark has offsets to move past
            s.append(RecordBatch.of(Integer.MAX_VALUE / 2, ByteBuffer.wrap(new byte[16]))).join();
            streams.add(s);
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        store.close();
        BenchDirs.delete(dir);
    }

    @Benchmark
    @OperationsPerInvocation(CONCURRENCY)
    public void createStream() {
        List<CompletableFuture<Stream>> all = new ArrayList<>(CONCURRENCY);
        for (int i = 0; i < CONCURRENCY; i++) {
            all.add(store.createStream(StreamOptions.defaults()));
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
    }

    @Benchmark
    @OperationsPerInvocation(CONCURRENCY)
    public void openStreamWithNewEpoch() {
        long e = ++epoch;
        List<CompletableFuture<Stream>> all = new ArrayList<>(CONCURRENCY);
        for (Stream s : streams) {
            all.add(store.openStream(s.id(), e));
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
        for (int i = 0; i < streams.size(); i++) {
            streams.set(i, all.get(i).join()); // the newest holder trims below
        }
    }

    @Benchmark
    @OperationsPerInvocation(CONCURRENCY)
    public void trim() {
        long to = ++trimTo;
        List<CompletableFuture<Void>> all = new ArrayList<>(CONCURRENCY);
        for (Stream s : streams) {
            all.add(s.trim(to));
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
    }
}
