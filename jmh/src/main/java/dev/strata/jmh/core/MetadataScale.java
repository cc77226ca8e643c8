package dev.strata.jmh.core;

import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;
import java.util.function.ObjIntConsumer;

/**
 * How the metadata scales with the number of streams in one store (issue 19). Through the public API
 * only, on one of {@link MetadataBackend}'s backends:
 * <ol>
 *   <li><b>create</b> N streams, at most {@code --concurrency} calls in flight (wall time, changes/s);
 *       append one batch of 2 to 4 records to each; trim every tenth by all but one record; flush and
 *       close the store;</li>
 *   <li><b>reopen</b>: the time of {@code build()} (it returns once the store serves);</li>
 *   <li><b>open</b> every stream with a new epoch, again with at most {@code --concurrency} in flight,
 *       and <b>verify</b> that each one's start and next offset are what was written (any difference
 *       fails the run, exit status 1);</li>
 *   <li><b>heap per idle open stream</b>: heap used with all N streams open minus heap used with the
 *       reopened store and no stream opened, divided by N (and, beside it, heap used with the reopened
 *       store minus heap used before reopening it, divided by N: what the store's metadata holds). Each reading is the least heap used
 *       ({@code MemoryMXBean}) after each of three {@code System.gc()} calls; the run reports how many
 *       collections the collectors counted, and warns if none ran (explicit GC disabled). It includes
 *       the tool's own array of N handles (4 bytes a stream with compressed oops);</li>
 *   <li><b>manifest bytes per stream</b>: the bytes of every object under {@code manifest/} (snapshots
 *       and log entries), listed through the object storage, divided by N; after the create phase and
 *       at the end.</li>
 * </ol>
 * Usage, after {@code mvn -q -pl jmh -am package -DskipTests}:
 * <pre>
 * java -Xmx2g -XX:MaxDirectMemorySize=1g -cp jmh/target/benchmarks.jar dev.strata.jmh.core.MetadataScale \
 *     [--streams 100000] [--store local|s3-in-process|s3://...] [--put-latency-ms 0] [--concurrency 1000] [--json FILE]
 * </pre>
 * Scratch files go under {@code -Dstrata.bench.dir} (default the temp directory) and are deleted at the end.
 */
public final class MetadataScale {
    private static final int TRIM_EVERY = 10;
    private static final byte[] PAYLOAD = new byte[100];

    private MetadataScale() {
    }

    /** The run's settings; see the class comment. */
    record Options(int streams, String store, long putLatencyMillis, int concurrency, Path json) {
        static Options parse(String[] args) {
            int streams = 100_000;
            String store = MetadataBackend.LOCAL;
            long latency = 0;
            int concurrency = 1000;
            Path json = null;
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("missing value after " + a);
                }
                String v = args[++i];
                switch (a) {
                    case "--streams" -> streams = Integer.parseInt(v);
                    case "--store" -> store = v;
                    case "--put-latency-ms" -> latency = Long.parseLong(v);
                    case "--concurrency" -> concurrency = Integer.parseInt(v);
                    case "--json" -> json = Path.of(v);
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (!store.equals(MetadataBackend.LOCAL) && !store.equals(MetadataBackend.S3_IN_PROCESS) && !store.startsWith("s3://")) {
                throw new IllegalArgumentException("--store must be '" + MetadataBackend.LOCAL + "', '"
                        + MetadataBackend.S3_IN_PROCESS + "' or an s3:// URI, got '" + store + "'");
            }
            if (streams < 1 || concurrency < 1 || latency < 0) {
                throw new IllegalArgumentException("--streams and --concurrency must be >= 1 and --put-latency-ms >= 0, got "
                        + streams + ", " + concurrency + ", " + latency);
            }
            return new Options(streams, store, latency, concurrency, json);
        }
    }

    /** A phase's wall time and rate. */
    record Phase(int operations, long nanos) {
        double seconds() {
            return nanos / 1e9;
        }

        double perSecond() {
            return operations / seconds();
        }
    }

    /** What one run measured. */
    record Result(String backend, int streams, int concurrency, Phase create, Phase append, Phase trim, Phase flushAndClose,
            Phase reopen, Phase open, int verifiedStreams, long heapNoStore, long heapNoStreamOpen, long heapAllOpen, int gcRuns,
            String collectors, MetadataBackend.ManifestSize manifestAfterCreate, MetadataBackend.ManifestSize manifestAtEnd,
            String recoverySummary) {
        double heapBytesPerOpenStream() {
            return (double) (heapAllOpen - heapNoStreamOpen) / streams;
        }

        double heapBytesPerStreamInStore() {
            return (double) (heapNoStreamOpen - heapNoStore) / streams;
        }
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the tool; returns the exit status (0 done and verified, 1 failed, 2 bad arguments). */
    static int run(String[] args, PrintStream out, PrintStream err) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            err.println("MetadataScale: " + e.getMessage());
            err.println("usage: MetadataScale [--streams N] [--store local|s3-in-process|s3://...] [--put-latency-ms MS]"
                    + " [--concurrency C] [--json FILE]");
            return 2;
        }
        try {
            Result result = measure(options, err);
            out.print(table(result));
            if (options.json() != null) {
                Files.writeString(options.json(), json(result), StandardCharsets.UTF_8);
            }
            return 0;
        } catch (Exception e) {
            err.println("MetadataScale FAILED: " + e);
            e.printStackTrace(err);
            return 1;
        }
    }

    static int records(int i) {
        return 2 + i % 3;
    }

    static long expectedStart(int i) {
        return i % TRIM_EVERY == 0 ? records(i) - 1 : 0;
    }

    static Result measure(Options o, PrintStream progress) throws Exception {
        int n = o.streams();
        try (MetadataBackend backend = MetadataBackend.open(o.store(), o.putLatencyMillis())) {
            progress.printf("MetadataScale: %,d streams on %s, at most %,d calls in flight%n", n, backend.description(),
                    o.concurrency());
            long[] ids = new long[n];
            Written written = createAndClose(backend, o, ids, progress); // in its own frame: nothing of it stays reachable
            MetadataBackend.ManifestSize afterCreate = backend.manifestSize();

            long gcBefore = gcCount();
            long heapNoStore = usedHeapAfterGc();
            long t0 = System.nanoTime();
            DurableStreamStore reopened = backend.openStore();
            Phase reopen = new Phase(1, System.nanoTime() - t0);
            try {
                String recovery = reopened.recoveryReport().summary();
                long heapNoStreamOpen = usedHeapAfterGc();
                Stream[] opened = new Stream[n];
                long epoch = StreamOptions.defaults().epoch() + 1;
                Phase open = windowed("open", n, o.concurrency(), i -> reopened.openStream(ids[i], epoch),
                        (s, i) -> opened[i] = s, progress);
                int verified = verify(ids, opened);
                long heapAllOpen = usedHeapAfterGc();
                int gcRuns = (int) (gcCount() - gcBefore);
                if (gcRuns == 0) {
                    progress.println("WARNING: System.gc() ran no collection (explicit GC disabled?): the heap figures are not after GC");
                }
                MetadataBackend.ManifestSize atEnd = backend.manifestSize();
                Result result = new Result(backend.description(), n, o.concurrency(), written.create(), written.append(),
                        written.trim(), written.flushAndClose(),
                        reopen, open, verified, heapNoStore, heapNoStreamOpen, heapAllOpen, gcRuns, collectors(), afterCreate, atEnd,
                        recovery);
                java.lang.ref.Reference.reachabilityFence(opened); // held open through the heap reading
                return result;
            } finally {
                reopened.close();
            }
        }
    }

    /** The phases that fill the store. */
    record Written(Phase create, Phase append, Phase trim, Phase flushAndClose) {
    }

    /** Creates {@code ids.length} streams (their ids into {@code ids}), appends, trims, flushes and closes the store. */
    private static Written createAndClose(MetadataBackend backend, Options o, long[] ids, PrintStream progress)
            throws InterruptedException {
        int n = ids.length;
        DurableStreamStore store = backend.openStore();
        try {
            Stream[] created = new Stream[n];
            Phase create = windowed("create", n, o.concurrency(), i -> store.createStream(StreamOptions.defaults()),
                    (s, i) -> created[i] = s, progress);
            for (int i = 0; i < n; i++) {
                ids[i] = created[i].id();
            }
            Phase append = windowed("append", n, o.concurrency(),
                    i -> created[i].append(RecordBatch.of(records(i), ByteBuffer.wrap(PAYLOAD))), (r, i) -> { }, progress);
            int trims = (n + TRIM_EVERY - 1) / TRIM_EVERY;
            Phase trim = windowed("trim", trims, o.concurrency(),
                    j -> created[j * TRIM_EVERY].trim(expectedStart(j * TRIM_EVERY)), (r, j) -> { }, progress);
            long t0 = System.nanoTime();
            store.flush().join(); // the data in objects: the reopen measures metadata, not a WAL replay
            store.close();
            return new Written(create, append, trim, new Phase(1, System.nanoTime() - t0));
        } finally {
            store.close(); // idempotent
        }
    }

    /**
     * Checks every reopened stream against what was written: the id, start offset and next offset.
     *
     * @return the number of streams verified (all of them)
     * @throws IllegalStateException naming the first mismatches and their count, if any stream differs
     */
    static int verify(long[] ids, Stream[] opened) {
        List<String> wrong = new ArrayList<>();
        int bad = 0;
        for (int i = 0; i < ids.length; i++) {
            Stream s = opened[i];
            long start = expectedStart(i);
            long next = records(i);
            if (s == null || s.id() != ids[i] || s.startOffset() != start || s.nextOffset() != next) {
                bad++;
                if (wrong.size() < 10) {
                    wrong.add(s == null ? "stream " + ids[i] + ": not opened"
                            : "stream " + ids[i] + ": id " + s.id() + ", start " + s.startOffset() + " (expected " + start
                                    + "), next " + s.nextOffset() + " (expected " + next + ")");
                }
            }
        }
        if (bad > 0) {
            throw new IllegalStateException("verification failed: " + bad + " of " + ids.length
                    + " streams differ from what was written after reopening; first: " + wrong);
        }
        return ids.length;
    }

    /**
     * Issues {@code count} calls with at most {@code window} in flight; waits for all of them. Fails with
     * the first failure (after the calls already issued completed).
     */
    static <T> Phase windowed(String name, int count, int window, IntFunction<CompletableFuture<T>> call,
            ObjIntConsumer<T> onResult, PrintStream progress) throws InterruptedException {
        Semaphore permits = new Semaphore(window);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        int step = Math.max(1, count / 10);
        long t0 = System.nanoTime();
        for (int i = 0; i < count && failure.get() == null; i++) {
            permits.acquire();
            int index = i;
            call.apply(i).whenComplete((value, e) -> {
                if (e != null) {
                    failure.compareAndSet(null, e instanceof CompletionException && e.getCause() != null ? e.getCause() : e);
                } else {
                    onResult.accept(value, index);
                }
                permits.release();
            });
            if ((i + 1) % step == 0 && count >= 10_000) {
                progress.printf("  %s: %,d issued after %.1f s%n", name, i + 1, (System.nanoTime() - t0) / 1e9);
            }
        }
        permits.acquire(window); // every call issued has completed
        long nanos = System.nanoTime() - t0;
        Throwable f = failure.get();
        if (f != null) {
            throw new IllegalStateException(name + " failed: " + f, f);
        }
        return new Phase(count, nanos);
    }

    /** The least heap used after each of three {@code System.gc()} calls. */
    static long usedHeapAfterGc() {
        long least = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            least = Math.min(least, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return least;
    }

    private static long gcCount() {
        long count = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            count += Math.max(0, gc.getCollectionCount());
        }
        return count;
    }

    private static String collectors() {
        List<String> names = new ArrayList<>();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            names.add(gc.getName());
        }
        return String.join(", ", names);
    }

    static String table(Result r) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%nMetadataScale: %,d streams, %s, at most %,d calls in flight%n", r.streams(),
                r.backend(), r.concurrency()));
        b.append(String.format(Locale.ROOT, "| %-44s | %14s | %14s |%n", "measure", "value", "rate"));
        b.append(String.format(Locale.ROOT, "|%s|%s|%s|%n", "-".repeat(46), "-".repeat(16), "-".repeat(16)));
        row(b, "create " + String.format(Locale.ROOT, "%,d", r.streams()) + " streams", r.create());
        row(b, "append one batch to each", r.append());
        row(b, "trim " + String.format(Locale.ROOT, "%,d", r.trim().operations()) + " streams", r.trim());
        b.append(String.format(Locale.ROOT, "| %-44s | %12.3f s | %14s |%n", "flush and close", r.flushAndClose().seconds(), ""));
        b.append(String.format(Locale.ROOT, "| %-44s | %12.3f s | %14s |%n", "reopen (build() until it serves)",
                r.reopen().seconds(), ""));
        row(b, "open every stream with a new epoch", r.open());
        b.append(String.format(Locale.ROOT, "| %-44s | %12.0f B | %14s |%n", "heap per idle open stream",
                r.heapBytesPerOpenStream(), ""));
        b.append(String.format(Locale.ROOT, "| %-44s | %12.0f B | %14s |%n", "heap per stream in the store, none open",
                r.heapBytesPerStreamInStore(), ""));
        manifest(b, "manifest after create, trim, flush", r.manifestAfterCreate(), r.streams());
        manifest(b, "manifest at the end (after the opens)", r.manifestAtEnd(), r.streams());
        b.append(String.format(Locale.ROOT, "verified %,d of %,d streams (start and next offset after reopening)%n",
                r.verifiedStreams(), r.streams()));
        b.append(String.format(Locale.ROOT, "heap used after GC: %,d B before reopening, %,d B with the store open and no"
                + " stream opened, %,d B with all open; least of 3 System.gc() each, %d collections counted (%s)%n",
                r.heapNoStore(), r.heapNoStreamOpen(), r.heapAllOpen(), r.gcRuns(), r.collectors()));
        b.append("reopen: ").append(r.recoverySummary()).append(System.lineSeparator());
        return b.toString();
    }

    private static void row(StringBuilder b, String name, Phase p) {
        b.append(String.format(Locale.ROOT, "| %-44s | %12.3f s | %,12.0f/s |%n", name, p.seconds(), p.perSecond()));
    }

    private static void manifest(StringBuilder b, String name, MetadataBackend.ManifestSize m, int streams) {
        b.append(String.format(Locale.ROOT, "| %-44s | %10.1f B/st | %14s |%n", name, (double) m.totalBytes() / streams,
                String.format(Locale.ROOT, "%,d B", m.totalBytes())));
        b.append(String.format(Locale.ROOT, "|   %-42s | %14s | %14s |%n",
                String.format(Locale.ROOT, "%d snapshot(s), %,d log entries", m.snapshotObjects(), m.logObjects()),
                String.format(Locale.ROOT, "%,d B", m.snapshotBytes()), String.format(Locale.ROOT, "%,d B", m.logBytes())));
    }

    static String json(Result r) {
        return String.format(Locale.ROOT, "{\"backend\":\"%s\",\"streams\":%d,\"concurrency\":%d,\"verifiedStreams\":%d,"
                + "\"createSeconds\":%.3f,\"createPerSecond\":%.1f,\"appendSeconds\":%.3f,\"trims\":%d,\"trimSeconds\":%.3f,"
                + "\"flushAndCloseSeconds\":%.3f,\"reopenSeconds\":%.3f,\"openSeconds\":%.3f,\"openPerSecond\":%.1f,"
                + "\"heapNoStoreBytes\":%d,\"heapNoStreamOpenBytes\":%d,\"heapBytesPerStreamInStore\":%.1f,\"heapAllOpenBytes\":%d,\"heapBytesPerOpenStream\":%.1f,"
                + "\"manifestBytesAfterCreate\":%d,\"manifestBytesPerStreamAfterCreate\":%.1f,"
                + "\"manifestBytesAtEnd\":%d,\"manifestBytesPerStreamAtEnd\":%.1f,\"manifestLogEntriesAtEnd\":%d,"
                + "\"manifestSnapshotsAtEnd\":%d}%n",
                r.backend().replace("\\", "\\\\").replace("\"", "\\\""), r.streams(), r.concurrency(), r.verifiedStreams(),
                r.create().seconds(), r.create().perSecond(), r.append().seconds(), r.trim().operations(), r.trim().seconds(),
                r.flushAndClose().seconds(), r.reopen().seconds(), r.open().seconds(), r.open().perSecond(),
                r.heapNoStore(), r.heapNoStreamOpen(), r.heapBytesPerStreamInStore(), r.heapAllOpen(), r.heapBytesPerOpenStream(), r.manifestAfterCreate().totalBytes(),
                (double) r.manifestAfterCreate().totalBytes() / r.streams(), r.manifestAtEnd().totalBytes(),
                (double) r.manifestAtEnd().totalBytes() / r.streams(), r.manifestAtEnd().logObjects(),
                r.manifestAtEnd().snapshotObjects());
    }
}
