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
 * Opens durable stores on their own temporary directory for tests, with small limits, and deletes
 * the directory when the store is closed (unless it is being restarted).
 */
final class DurableStoreFixture {
    static final int MAX_BATCH_BYTES = 64 * 1024;

    private DurableStoreFixture() {
    }

    static Strata.Builder smallBuilder(Path dir) {
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

    /** A store on a new temporary directory, deleted at close. */
    static OwningStore open(UnaryOperator<Strata.Builder> customize) {
        try {
            Path dir = Files.createTempDirectory("strata-test");
            return new OwningStore(dir, customize, customize.apply(smallBuilder(dir)).build());
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
            return new OwningStore(dir, customize, customize.apply(smallBuilder(dir)).build());
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
        public void close() {
            store.close();
            if (!keepDirectory) {
                deleteRecursively(dir);
                keepDirectory = true; // idempotent
            }
        }
    }
}
