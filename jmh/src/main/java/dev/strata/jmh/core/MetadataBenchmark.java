package dev.strata.jmh.core;

import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import java.nio.ByteBuffer;
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
 * one kind without waiting, then waits for all of them; the score is changes per second. Kinds:
 * {@code createStream}, {@code openStream} with a new epoch (a failover reopening every partition),
 * {@code trim}.
 *
 * <p>Backends ({@code storeUri}, see {@link MetadataBackend}): {@code local} (default: the embedded
 * default's layout, the manifest in a local directory), {@code s3-in-process} (an S3-compatible server,
 * S3Proxy, started inside the benchmark's JVM on loopback: real HTTP through the AWS SDK), or the
 * {@code s3://} URI of a server running elsewhere. {@code putLatencyMillis} adds that much to every
 * PUT's acknowledgement ({@link PutLatencyStorage}; 0, the default, adds nothing and no wrapper).
 * The two targets, after {@code mvn -q -pl jmh -am package -DskipTests}:
 * <pre>
 * java -jar jmh/target/benchmarks.jar MetadataBenchmark
 * java -jar jmh/target/benchmarks.jar MetadataBenchmark -p storeUri=s3-in-process -p putLatencyMillis=30
 * </pre>
 * An external server, e.g. the tests' {@code dev.strata.objectstore.testing.S3ProxyMain bench} (objectstore
 * test-jar), is given as {@code -p storeUri='s3://bench/m?endpoint=http://127.0.0.1:PORT&pathStyle=true&region=us-east-1&accessKey=strata-access&secretKey=strata-secret'}.
 * While every change waits for its own manifest write, one invocation at 30 ms per PUT takes about
 * {@code concurrency} x 30 ms (30 s for 1,000), longer than an iteration's nominal time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx2g", "-XX:MaxDirectMemorySize=1g"})
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
public class MetadataBenchmark {
    static final int CONCURRENCY = 1000;

    /** {@code local}, {@code s3-in-process} or an {@code s3://} URI (see the class comment). */
    @Param({"local"})
    public String storeUri;

    /** Added to each PUT's acknowledgement; 0: none. The S3 target uses 30. */
    @Param({"0"})
    public long putLatencyMillis;

    /** Calls issued at once per invocation; {@link #CONCURRENCY} (the scores count that many), fewer only in tests. */
    int concurrency = CONCURRENCY;

    MetadataBackend backend;
    DurableStreamStore store;
    final List<Stream> streams = new ArrayList<>();
    long epoch = 1;
    long trimTo;

    @Setup(Level.Trial)
    public void open() throws Exception {
        backend = MetadataBackend.open(storeUri, putLatencyMillis);
        store = backend.openStore();
        System.out.printf("%n[setup] %s, %d calls at once%n", backend.description(), concurrency);
        List<CompletableFuture<Stream>> created = new ArrayList<>();
        for (int i = 0; i < concurrency; i++) {
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
        try {
            store.close();
        } finally {
            backend.close();
        }
    }

    @Benchmark
    @OperationsPerInvocation(CONCURRENCY)
    public void createStream() {
        List<CompletableFuture<Stream>> all = new ArrayList<>(concurrency);
        for (int i = 0; i < concurrency; i++) {
            all.add(store.createStream(StreamOptions.defaults()));
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
    }

    @Benchmark
    @OperationsPerInvocation(CONCURRENCY)
    public void openStreamWithNewEpoch() {
        long e = ++epoch;
        List<CompletableFuture<Stream>> all = new ArrayList<>(concurrency);
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
        List<CompletableFuture<Void>> all = new ArrayList<>(concurrency);
        for (Stream s : streams) {
            all.add(s.trim(to));
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
    }
}
