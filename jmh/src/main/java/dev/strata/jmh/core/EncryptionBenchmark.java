package dev.strata.jmh.core;

import dev.strata.api.AppendResult;
import dev.strata.api.BackpressureException;
import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.Strata;
import dev.strata.core.crypto.InMemoryKeyProvider;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
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
import org.openjdk.jmh.infra.Blackhole;

/**
 * What client-side encryption per tenant costs ({@code Strata.builder().encryption(..)}, README
 * "Encryption at rest"), on the embedded default under {@code -Dstrata.bench.dir}: the same stream
 * of a tenant, with {@code encrypted} false (the tenant is not selected: stored in plain) and true
 * (AES-256-GCM at append, under the stream's lock; decryption into heap copies at fetch).
 *
 * <ul>
 *   <li>{@link #append}: durable appends of {@code batchBytes}, {@code window} in flight, one stream
 *       (appends/s). {@code unsafeSkipSync=true} takes the WAL's sync out, so that the crypto's share
 *       shows.</li>
 *   <li>{@link #replay}: a catch-up reader replaying {@code replayMiB} of committed objects in 1 MiB
 *       fetches, wrapping around (fetches/s; one fetch = 1 MiB of payload); the block cache is smaller
 *       than the data, so blocks are read from the object directory (page cache) and decoded again.</li>
 * </ul>
 * Run: {@code java -jar jmh/target/benchmarks.jar EncryptionBenchmark -p encrypted=false,true}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g", "-XX:MaxDirectMemorySize=1g"})
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 4)
public class EncryptionBenchmark {

    /** A store with one stream of tenant "acme", encrypted or not. */
    abstract static class StoreState {
        /** Whether tenant "acme" is encrypted (a @Param of each state). */
        abstract boolean encrypted();

        Path dir;
        DurableStreamStore store;
        Stream stream;
        /** One provider for the trial: a reopened store needs the same master keys. */
        final InMemoryKeyProvider provider = new InMemoryKeyProvider();

        Strata.Builder builder() {
            Strata.Builder b = Strata.builder().dataDir(dir).walCapacity(256L << 20).logCacheBytes(128L << 20)
                    .uploadThresholdBytes(32L << 20).uploadInterval(Duration.ofSeconds(2)).blockCacheBytes(32L << 20)
                    .compactionInterval(Duration.ZERO);
            // the same tenant either way: only the predicate differs, so the comparison isolates the crypto
            boolean on = encrypted();
            return b.encryption(provider, tenant -> on);
        }

        void closeStore() {
            if (store != null) {
                store.close();
                store = null;
            }
        }
    }

    @State(Scope.Benchmark)
    public static class AppendState extends StoreState {
        @Param({"false", "true"})
        public boolean encrypted;

        @Override
        boolean encrypted() {
            return encrypted;
        }

        @Param({"4096"})
        public int batchBytes;

        @Param({"4"})
        public int window;

        @Param({"false"})
        public boolean unsafeSkipSync;

        ByteBuffer payload;
        final ArrayDeque<CompletableFuture<AppendResult>> inFlight = new ArrayDeque<>();

        @Setup(Level.Trial)
        public void open() throws IOException {
            dir = BenchDirs.create("strata-encryption-append");
            store = builder().unsafeSkipWalSync(unsafeSkipSync).build();
            stream = store.createStream(StreamOptions.defaults().withTenant("acme")).join();
            byte[] bytes = new byte[batchBytes];
            new SplittableRandom(1).nextBytes(bytes);
            payload = ByteBuffer.wrap(bytes).asReadOnlyBuffer();
        }

        @TearDown(Level.Iteration)
        public void drain() {
            while (!inFlight.isEmpty()) {
                inFlight.poll().join();
            }
        }

        @TearDown(Level.Trial)
        public void close() {
            closeStore();
            BenchDirs.delete(dir);
        }
    }

    @State(Scope.Benchmark)
    public static class ReplayState extends StoreState {
        @Param({"false", "true"})
        public boolean encrypted;

        @Override
        boolean encrypted() {
            return encrypted;
        }

        @Param({"128"})
        public int replayMiB;

        static final int BATCH_BYTES = 16 * 1024;
        static final int FETCH_BYTES = 1 << 20;
        long next;

        @Setup(Level.Trial)
        public void open() throws IOException {
            dir = BenchDirs.create("strata-encryption-replay");
            store = builder().build();
            stream = store.createStream(StreamOptions.defaults().withTenant("acme")).join();
            byte[] bytes = new byte[BATCH_BYTES];
            new SplittableRandom(2).nextBytes(bytes);
            ArrayDeque<CompletableFuture<AppendResult>> pending = new ArrayDeque<>();
            for (long i = 0; i < (long) replayMiB * (1 << 20) / BATCH_BYTES; i++) {
                pending.add(appendRetrying(stream, ByteBuffer.wrap(bytes)));
                if (pending.size() >= 64) {
                    pending.poll().join();
                }
            }
            pending.forEach(CompletableFuture::join);
            long id = stream.id();
            store.flush().join();
            closeStore();
            store = builder().build(); // reopened: the LogCache is empty, every fetch reads objects
            stream = store.openStream(id, 1).join();
        }

        @TearDown(Level.Trial)
        public void close() {
            closeStore();
            BenchDirs.delete(dir);
        }
    }

    static CompletableFuture<AppendResult> appendRetrying(Stream stream, ByteBuffer payload) {
        while (true) {
            CompletableFuture<AppendResult> f = stream.append(RecordBatch.of(1, payload.duplicate()));
            if (f.isCompletedExceptionally()) {
                try {
                    f.join();
                } catch (CompletionException e) {
                    if (e.getCause() instanceof BackpressureException) {
                        Thread.onSpinWait();
                        continue;
                    }
                    throw e;
                }
            }
            return f;
        }
    }

    @Benchmark
    public AppendResult append(AppendState s) {
        AppendResult done = null;
        if (s.inFlight.size() >= s.window) {
            done = s.inFlight.poll().join();
        }
        s.inFlight.add(appendRetrying(s.stream, s.payload));
        return done;
    }

    @Benchmark
    public void replay(ReplayState s, Blackhole bh) {
        if (s.next >= s.stream.nextOffset()) {
            s.next = s.stream.startOffset();
        }
        try (FetchResult r = s.stream.fetch(s.next, Long.MAX_VALUE, ReplayState.FETCH_BYTES).join()) {
            for (FetchedBatch b : r.batches()) {
                bh.consume(b.payload().get(0));
            }
            s.next = r.nextOffset(s.next);
        }
    }
}
