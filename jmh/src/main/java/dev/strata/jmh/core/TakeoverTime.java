package dev.strata.jmh.core;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.Strata;
import dev.strata.wal.objectstore.ObjectWalOptions;
import java.io.IOException;
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
 * java -Xmx2g -XX:MaxDirectMemorySize=4g -cp jmh/target/benchmarks.jar dev.strata.jmh.core.TakeoverTime [--mib 256] [--dir DIR]
 * </pre>
 * The bucket is a directory (default under {@code java.io.tmpdir}), deleted at the end.
 */
public final class TakeoverTime {
    private static final int STREAMS = 16;
    private static final int BATCH_BYTES = 64 * 1024;

    private TakeoverTime() {
    }

    /** What one run measured. */
    record Result(long walBytes, long walObjects, long takeoverNanos, long replayedRecords, long verifiedBatches) {
    }

    public static void main(String[] args) throws Exception {
        int mib = 256;
        Path dir = Path.of(System.getProperty("java.io.tmpdir"));
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--mib" -> mib = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option: " + args[i] + " (--mib N, --dir DIR)");
            }
        }
        Path bucket = Files.createTempDirectory(Files.createDirectories(dir), "strata-takeover");
        try {
            Result r = run(bucket, mib);
            System.out.printf(Locale.ROOT, "TAKEOVER walMiB=%.1f walObjects=%d takeoverMs=%.0f replayedRecords=%d"
                            + " verifiedBatches=%d MiB/s=%.1f%n", r.walBytes() / 1048576.0, r.walObjects(),
                    r.takeoverNanos() / 1e6, r.replayedRecords(), r.verifiedBatches(),
                    r.walBytes() / 1048576.0 / (r.takeoverNanos() / 1e9));
        } finally {
            BenchDirs.delete(bucket);
        }
    }

    static Strata.Builder store(Path bucket, long walBytes) {
        long room = Math.max(64L << 20, walBytes * 2);
        return Strata.builder()
                .objectStore(bucket.toUri())
                .walOnObjectStore(ObjectWalOptions.builder("").capacityBytes(2 * room).maxBufferedBytes(64L << 20).build())
                .walCapacity(2 * room)
                .logCacheBytes(2 * room)
                .uploadThresholdBytes(room)
                .uploadInterval(Duration.ofHours(1))
                .maxBatchBytes(BATCH_BYTES);
    }

    /** Writes {@code mib} MiB through store A, takes the prefix over with store B, verifies. */
    static Result run(Path bucket, int mib) throws IOException {
        long total = (long) mib << 20;
        int batches = (int) Math.max(STREAMS, total / BATCH_BYTES);
        DurableStreamStore a = store(bucket, total).build(); // stops serving unclosed, as a paused process, until B took over
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
        try (var files = Files.list(bucket.resolve("wal"))) {
            for (Path f : files.toList()) {
                walBytes += Files.size(f);
                walObjects++;
            }
        }
        long start = System.nanoTime();
        try (a; DurableStreamStore b = store(bucket, total).build()) { // A's close after B's: fenced, it uploads nothing
            long took = System.nanoTime() - start;
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
            return new Result(walBytes, walObjects, took, b.recoveryReport().wal().records(), verified);
        }
    }

    /** The payload of batch {@code index} of stream {@code streamId}. */
    static byte[] payload(long streamId, long index) {
        byte[] b = new byte[BATCH_BYTES];
        new SplittableRandom(streamId * 1_000_003L + index).nextBytes(b);
        return b;
    }
}
