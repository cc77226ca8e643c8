package dev.strata.core;

import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.api.StreamStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;

/**
 * The store fixtures of core's tests: named presets of small settings (each a {@link Strata.Builder}
 * that callers may adjust further), and stores that own a temporary directory. A crash child and the
 * test that verifies its directory must use the same preset, so that they agree on the WAL capacity and
 * the other settings. Thread-safe: every method returns a new builder or store.
 */
public final class StoreFixtures {
    /** The largest batch of the {@link #small} preset. */
    static final int MAX_BATCH_BYTES = 64 * 1024;

    private StoreFixtures() {
    }

    /** Unit and contract tests: small limits, so that uploads and WAL laps happen within a test. */
    public static Strata.Builder small(Path dir) {
        return Strata.builder()
                .dataDir(dir)
                .walCapacity(16L << 20)
                .logCacheBytes(8L << 20)
                .blockCacheBytes(4L << 20)
                .maxInFlightReadBytes(2L << 20)
                .uploadThresholdBytes(1L << 20)
                .uploadInterval(Duration.ofMillis(200))
                .uploadRetryBackoff(Duration.ofMillis(20))
                .maxBatchBytes(MAX_BATCH_BYTES)
                .objectBlockBytes(16 * 1024);
    }

    /** Reliability campaigns: smaller caches than {@link #small}, so that evictions happen too. */
    public static Strata.Builder campaign(Path dir) {
        return Strata.builder()
                .dataDir(dir)
                .walCapacity(16L << 20)
                .logCacheBytes(4L << 20)
                .blockCacheBytes(2L << 20)
                .maxInFlightReadBytes(1L << 20)
                .uploadThresholdBytes(512L << 10)
                .uploadInterval(Duration.ofMillis(200))
                .uploadRetryBackoff(Duration.ofMillis(10))
                .maxBatchBytes(64 * 1024)
                .objectBlockBytes(8 * 1024);
    }

    /** {@link CrashChild} and its verifiers: uploads and WAL laps happen within a crash round. */
    public static Strata.Builder crash(Path dir) {
        return Strata.builder()
                .dataDir(dir)
                .walCapacity(32L << 20)
                .logCacheBytes(16L << 20)
                .uploadThresholdBytes(1L << 20)
                .uploadInterval(Duration.ofMillis(100))
                .maxBatchBytes(64 * 1024)
                .objectBlockBytes(32 * 1024);
    }

    /**
     * A store with no local disk at all: objects and WAL in {@code objects} (a directory standing in
     * for a bucket), the WAL flushed every 5 ms, uploads only by size (16 MiB) or after an hour, so what
     * a test appends stays in the WAL objects until a takeover replays it.
     */
    public static Strata.Builder diskless(Path objects) {
        return disklessSizes(Strata.builder().objectStore(objects.toUri()), disklessWal().build());
    }

    /** The WAL options of {@link #diskless}: flushed every 5 ms, 64 MiB, 16 MiB buffered. */
    public static dev.strata.wal.objectstore.ObjectWalOptions.Builder disklessWal() {
        return dev.strata.wal.objectstore.ObjectWalOptions.builder("")
                .flushIntervalNanos(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(5))
                .capacityBytes(64L << 20).maxBufferedBytes(16L << 20);
    }

    /**
     * {@link #diskless}'s WAL ({@code wal}) and sizes on a builder that already names its object
     * storage: small WAL, cache and objects, nothing uploaded for an hour.
     */
    public static Strata.Builder disklessSizes(Strata.Builder builder, dev.strata.wal.objectstore.ObjectWalOptions wal) {
        return builder
                .walOnObjectStore(wal)
                .walCapacity(64L << 20)
                .logCacheBytes(32L << 20)
                .uploadThresholdBytes(16L << 20)
                .uploadInterval(Duration.ofHours(1))
                .maxBatchBytes(64 * 1024)
                .objectBlockBytes(32 * 1024);
    }

    /** {@code CrashWithReadersChild} and its verifier: compaction every 100 ms, throttled so a kill lands inside it. */
    public static Strata.Builder crashWithReaders(Path dir) {
        return campaign(dir).walCapacity(32L << 20).logCacheBytes(8L << 20).uploadThresholdBytes(1L << 20)
                .uploadInterval(Duration.ofMillis(100))
                .compactionInterval(Duration.ofMillis(100))
                .compactionTargetObjectBytes(256L << 10)
                .streamObjectThresholdBytes(64L << 10)
                .streamSetSplitAge(Duration.ZERO)
                .garbageGracePeriod(Duration.ofSeconds(5))
                .orphanTtl(Duration.ofSeconds(1))
                .compactionBytesPerSecond(2L << 20);
    }

    /** A store on a new temporary directory, deleted at close. */
    static OwningStore open(UnaryOperator<Strata.Builder> customize) {
        try {
            Path dir = Files.createTempDirectory("strata-test");
            return new OwningStore(dir, customize, customize.apply(small(dir)).build());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteRecursively(Path dir) {
        try (java.util.stream.Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A durable store that owns its directory. */
    static final class OwningStore implements StreamStore {
        final Path dir;
        final UnaryOperator<Strata.Builder> customize;
        final DurableStreamStore store;
        private boolean keepDirectory;

        OwningStore(Path dir, UnaryOperator<Strata.Builder> customize, DurableStreamStore store) {
            this.dir = dir;
            this.customize = customize;
            this.store = store;
        }

        /** Closes this store and opens a new one on the same directory. */
        OwningStore restart() {
            keepDirectory = true;
            close();
            return new OwningStore(dir, customize, customize.apply(small(dir)).build());
        }

        @Override
        public CompletableFuture<Stream> createStream(StreamOptions options) {
            return store.createStream(options);
        }

        @Override
        public CompletableFuture<Stream> openStream(long streamId, long epoch) {
            return store.openStream(streamId, epoch);
        }

        @Override
        public CompletableFuture<Void> deleteStream(long streamId, long epoch) {
            return store.deleteStream(streamId, epoch);
        }

        @Override
        public CompletableFuture<java.util.List<dev.strata.api.StreamInfo>> listStreams(dev.strata.api.StreamFilter filter) {
            return store.listStreams(filter);
        }

        @Override
        public void close() {
            store.close();
            if (!keepDirectory) {
                deleteRecursively(dir);
                keepDirectory = true; // idempotent
            }
        }
    }
}
