package dev.strata.jmh.core;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.Strata;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorages;
import dev.strata.wal.objectstore.ObjectWalOptions;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * How long a takeover of a store whose WAL is in the object store takes (issue 24): store A
 * ({@code walOnObjectStore}, no local directory) appends {@code --mib} MiB of 64 KiB batches over 16
 * streams with nothing uploaded (upload threshold and interval out of reach), then stops serving
 * without closing (its threads stay, as a paused process's would); store B opens the same prefix and
 * the time of its {@code build()} is taken: listing and fencing the WAL, registering, replaying every
 * WAL object into the log cache, uploading it, until it serves. Then B reads every batch back and
 * checks it (a difference fails the run, exit status 1).
 *
 * <p>Usage, after {@code mvn -q -pl jmh -am package -DskipTests}:
 * <pre>
 * java -Xmx2g -XX:MaxDirectMemorySize=4g -cp jmh/target/benchmarks.jar dev.strata.jmh.core.TakeoverTime [--mib 256] [--dir DIR] [--s3] [--latency-ms N]
 * </pre>
 * The bucket is a directory (default under {@code java.io.tmpdir}), deleted at the end; with
 * {@code --s3}, the in-process S3 server ({@link InProcessS3}, over HTTP on loopback) keeps its
 * objects there, and each store talks to it through its own S3 client, made as the store starts (B's
 * is inside the measured time). {@code --latency-ms N} delays the acknowledgement of every GET,
 * HEAD, LIST, PUT, DELETE and upload completion by N ms ({@link PutLatencyStorage#everyRequest}; an
 * upload's parts keep the local server's latency), for both stores: what a remote bucket's round trip
 * adds to the listing, the header and object reads of the replay, the fence, the manifest and the
 * upload's completion. B's requests until it serves are printed (counts and the local latencies).
 */
public final class TakeoverTime {
    private static final int STREAMS = 16;
    private static final int BATCH_BYTES = 64 * 1024;

    private TakeoverTime() {
    }

    /** What one run measured. */
    record Result(long walBytes, long walObjects, long takeoverNanos, long replayedRecords, long verifiedBatches,
            String requestsUntilServing) {
    }

    public static void main(String[] args) throws Exception {
        int mib = 256;
        Path dir = Path.of(System.getProperty("java.io.tmpdir"));
        boolean s3 = false;
        long latencyMillis = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--mib" -> mib = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                case "--s3" -> s3 = true;
                case "--latency-ms" -> latencyMillis = Long.parseLong(args[++i]);
                default -> throw new IllegalArgumentException("unknown option: " + args[i]
                        + " (--mib N, --dir DIR, --s3, --latency-ms N)");
            }
        }
        Path bucket = Files.createTempDirectory(Files.createDirectories(dir), "strata-takeover");
        try {
            Result r = run(bucket, mib, s3, latencyMillis);
            System.out.printf(Locale.ROOT, "TAKEOVER bucket=%s latencyMs=%d walMiB=%.1f walObjects=%d takeoverMs=%.0f"
                            + " replayedRecords=%d verifiedBatches=%d MiB/s=%.1f%n", s3 ? "s3-in-process" : "directory",
                    latencyMillis, r.walBytes() / 1048576.0, r.walObjects(), r.takeoverNanos() / 1e6,
                    r.replayedRecords(), r.verifiedBatches(), r.walBytes() / 1048576.0 / (r.takeoverNanos() / 1e9));
            System.out.println("TAKEOVER B's requests until serving (latencies without the added one): "
                    + r.requestsUntilServing());
        } finally {
            BenchDirs.delete(bucket);
        }
    }

    static Strata.Builder store(ObjectStorage storage, long walBytes) {
        long room = Math.max(64L << 20, walBytes * 2);
        return Strata.builder()
                .objectStorage(storage)
                .walOnObjectStore(ObjectWalOptions.builder("").capacityBytes(2 * room).maxBufferedBytes(64L << 20).build())
                .walCapacity(2 * room)
                .logCacheBytes(2 * room)
                .uploadThresholdBytes(room)
                .uploadInterval(Duration.ofHours(1))
                .maxBatchBytes(BATCH_BYTES);
    }

    /** {@link #run(Path, int, boolean, long)} on a directory as bucket, without added latency. */
    static Result run(Path bucket, int mib) throws Exception {
        return run(bucket, mib, false, 0);
    }

    /**
     * Writes {@code mib} MiB through store A, takes the prefix over with store B, verifies; the bucket
     * is the directory {@code dir} or, with {@code s3}, the in-process S3 server keeping its objects
     * there; {@code latencyMillis > 0} delays every request's acknowledgement by that much.
     */
    static Result run(Path dir, int mib, boolean s3, long latencyMillis) throws Exception {
        try (InProcessS3 server = s3 ? InProcessS3.start(dir) : null) {
            Supplier<ObjectStorage> storages = () -> {
                ObjectStorage st = ObjectStorages.fromUri(server != null ? server.objectStoreUri("takeover") : dir.toUri());
                return latencyMillis > 0 ? PutLatencyStorage.everyRequest(st, latencyMillis) : st;
            };
            return run(storages, mib);
        }
    }

    private static Result run(Supplier<ObjectStorage> storages, int mib) {
        long total = (long) mib << 20;
        int batches = (int) Math.max(STREAMS, total / BATCH_BYTES);
        ObjectStorage aStorage = storages.get();
        DurableStreamStore a = store(aStorage, total).build(); // stops serving unclosed, as a paused process, until B took over
        List<Stream> streams = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            streams.add(a.createStream(StreamOptions.defaults()).join());
        }
        List<CompletableFuture<?>> inFlight = new ArrayList<>();
        for (int i = 0; i < batches; i++) {
            Stream s = streams.get(i % STREAMS);
            inFlight.add(s.append(RecordBatch.of(1, ByteBuffer.wrap(payload(s.id(), i / STREAMS)))));
            if (inFlight.size() == 256) {
                inFlight.forEach(CompletableFuture::join);
                inFlight.clear();
            }
        }
        inFlight.forEach(CompletableFuture::join);
        long walBytes = 0;
        long walObjects = 0;
        for (ObjectInfo o : aStorage.list("wal/").join()) {
            walBytes += o.size();
            walObjects++;
        }
        long start = System.nanoTime();
        ObjectStorage bStorage = storages.get(); // B's client, made as B starts
        // A's close after B's: fenced, it uploads nothing; each storage closed after its store
        try (aStorage; a; bStorage; DurableStreamStore b = store(bStorage, total).build()) {
            long took = System.nanoTime() - start;
            String requests = bStorage.metrics().toString();
            long verified = 0;
            for (Stream old : streams) {
                Stream s = b.openStream(old.id(), 1).join();
                long offset = 0;
                while (offset < s.nextOffset()) {
                    try (FetchResult r = s.fetch(offset, Long.MAX_VALUE, 4 << 20).join()) {
                        for (FetchedBatch fb : r.batches()) {
                            if (fb.baseOffset() != offset || !fb.payload().equals(ByteBuffer.wrap(payload(s.id(), offset)))) {
                                throw new IllegalStateException("stream " + s.id() + ": batch at " + fb.baseOffset()
                                        + " differs from what A acknowledged at " + offset);
                            }
                            offset = fb.nextOffset();
                            verified++;
                        }
                    }
                }
            }
            if (verified != batches) {
                throw new IllegalStateException("B read " + verified + " batches, A acknowledged " + batches);
            }
            return new Result(walBytes, walObjects, took, b.recoveryReport().wal().records(), verified, requests);
        }
    }

    /** The payload of batch {@code index} of stream {@code streamId}. */
    static byte[] payload(long streamId, long index) {
        byte[] b = new byte[BATCH_BYTES];
        new SplittableRandom(streamId * 1_000_003L + index).nextBytes(b);
        return b;
    }
}
