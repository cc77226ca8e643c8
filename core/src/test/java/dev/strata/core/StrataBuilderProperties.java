package dev.strata.core;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.RecordBatch;
import dev.strata.api.RecordTooLargeException;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionException;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * The builder's sizes (issue 18, items 1 and 7): every {@code maxBatchBytes} it accepts builds and
 * round-trips a batch of exactly that size across a restart; defaults the user did not set scale
 * with the settings the user did set; only a conflict between two chosen settings is an error, and
 * its message names both.
 */
class StrataBuilderProperties {
    /** A WAL big enough for the largest batch (four write buffers of 64 MiB). */
    private static final long BIG_WAL = 256L << 20;

    private static Path bigWalDir;

    private static synchronized Path bigWalDir() throws IOException {
        if (bigWalDir == null) {
            bigWalDir = Files.createTempDirectory("strata-builder"); // one WAL file for every try
        }
        return bigWalDir;
    }

    @AfterContainer
    static void deleteDirectories() {
        if (bigWalDir != null) {
            StoreFixtures.deleteRecursively(bigWalDir);
        }
    }

    /** Was: {@code maxBatchBytes(8 << 20)} failed with "writeBufferBytes must be a power of two ... 9437184". */
    @Property(tries = 12)
    void everyAcceptedMaxBatchBytesBuildsAndRoundTripsABatchOfThatSize(
            @ForAll @IntRange(min = 1, max = Strata.Builder.MAX_BATCH_BYTES) int maxBatchBytes) throws IOException {
        roundTrip(Strata.builder().dataDir(bigWalDir()).walCapacity(BIG_WAL).maxBatchBytes(maxBatchBytes), maxBatchBytes);
    }

    @Example
    void theBatchSizeOfTheIssueBuildsWithDefaults() throws IOException {
        Path dir = Files.createTempDirectory("strata-builder");
        try {
            roundTrip(Strata.builder().dataDir(dir).maxBatchBytes(8 << 20), 8 << 20);
        } finally {
            StoreFixtures.deleteRecursively(dir);
        }
    }

    /**
     * A small WAL set by the user: the default batch limit shrinks to the largest batch that WAL can
     * take, which builds and round-trips; one byte more, chosen by the user, conflicts with the chosen
     * walCapacity and the message says which to change.
     */
    @Property(tries = 6)
    void aSmallWalCapacityScalesTheDefaultBatchLimitToTheLargestItHolds(
            @ForAll @LongRange(min = 256, max = 16384) long walCapacityPages) throws IOException {
        long walCapacity = walCapacityPages * 4096;
        Path dir = Files.createTempDirectory("strata-builder");
        try {
            int largest = Strata.builder().dataDir(dir).walCapacity(walCapacity).resolveSizes().maxBatchBytes();
            assertThat(largest).isPositive().isLessThanOrEqualTo(Strata.Builder.DEFAULT_MAX_BATCH_BYTES);
            roundTrip(Strata.builder().dataDir(dir).walCapacity(walCapacity), largest);
            if (largest < Strata.Builder.DEFAULT_MAX_BATCH_BYTES) {
                assertThatThrownBy(() -> Strata.builder().dataDir(dir).walCapacity(walCapacity).maxBatchBytes(largest + 1)
                        .build())
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("raise walCapacity or lower maxBatchBytes");
            }
        } finally {
            StoreFixtures.deleteRecursively(dir);
        }
    }

    /** Was: {@code walCapacity(64 MiB)} alone failed on the default upload threshold. */
    @Example
    void eachSettingAloneBuilds() throws IOException {
        Path dir = Files.createTempDirectory("strata-builder");
        try {
            build(Strata.builder().dataDir(dir.resolve("a")).walCapacity(64L << 20));
            build(Strata.builder().dataDir(dir.resolve("b")).walCapacity(Strata.Builder.MIN_WAL_CAPACITY_BYTES));
            build(Strata.builder().dataDir(dir.resolve("c")).walCapacity(64L << 20).logCacheBytes(1L << 20));
            build(Strata.builder().dataDir(dir.resolve("d")).walCapacity(64L << 20).uploadThresholdBytes(30L << 20));
        } finally {
            StoreFixtures.deleteRecursively(dir);
        }
    }

    @Example
    void defaultsScaleWithWhatTheUserSet() {
        Strata.Builder.Sizes bigThreshold = Strata.builder().dataDir(Path.of("unused"))
                .uploadThresholdBytes(600L << 20).resolveSizes();
        assertThat(bigThreshold.logCacheBytes()).isEqualTo(1200L << 20);
        assertThat(bigThreshold.walCapacityBytes()).isEqualTo(1200L << 20);

        Strata.Builder.Sizes smallCache = Strata.builder().dataDir(Path.of("unused")).logCacheBytes(1L << 20).resolveSizes();
        assertThat(smallCache.uploadThresholdBytes()).isLessThanOrEqualTo(smallCache.logCacheBytes() / 2);
        assertThat(smallCache.maxBatchBytes()).isLessThanOrEqualTo((int) (smallCache.logCacheBytes() / 2));

        Strata.Builder.Sizes bigBatch = Strata.builder().dataDir(Path.of("unused")).maxBatchBytes(Strata.Builder.MAX_BATCH_BYTES)
                .resolveSizes();
        assertThat(bigBatch.walWriteBufferBytes()).isEqualTo(64 << 20);
        assertThat(bigBatch.walCapacityBytes()).isGreaterThanOrEqualTo(4L * bigBatch.walWriteBufferBytes());

        Strata.Builder.Sizes defaults = Strata.builder().dataDir(Path.of("unused")).resolveSizes();
        assertThat(defaults).isEqualTo(new Strata.Builder.Sizes(Strata.Builder.DEFAULT_WAL_CAPACITY_BYTES,
                Strata.Builder.DEFAULT_LOG_CACHE_BYTES, Strata.Builder.DEFAULT_UPLOAD_THRESHOLD_BYTES,
                Strata.Builder.DEFAULT_MAX_BATCH_BYTES, 2 << 20));
    }

    @Example
    void onlyAConflictBetweenTwoChosenSettingsIsAnErrorAndItNamesBoth() {
        assertThatThrownBy(() -> Strata.builder().dataDir(Path.of("unused")).walCapacity(64L << 20)
                .uploadThresholdBytes(40L << 20).resolveSizes())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("uploadThresholdBytes").hasMessageContaining("walCapacity");
        assertThatThrownBy(() -> Strata.builder().dataDir(Path.of("unused")).logCacheBytes(4L << 20)
                .maxBatchBytes(4 << 20).resolveSizes())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxBatchBytes").hasMessageContaining("logCacheBytes");
        assertThatThrownBy(() -> Strata.builder().maxBatchBytes(Strata.Builder.MAX_BATCH_BYTES + 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxBatchBytes");
        assertThatThrownBy(() -> Strata.builder().walCapacity((64L << 20) + 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiple of 4096");
    }

    private static void build(Strata.Builder builder) {
        try (DurableStreamStore store = builder.build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            await(s.append(RecordBatch.of(1, ByteBuffer.wrap(new byte[100]))));
        }
    }

    /** Appends one batch of exactly {@code size} bytes (and is refused one byte more), restarts, reads it back. */
    private static void roundTrip(Strata.Builder builder, int size) {
        byte[] payload = new byte[size];
        new SplittableRandom(size).nextBytes(payload);
        long id;
        long offset;
        try (DurableStreamStore store = builder.build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            id = s.id();
            offset = await(s.append(RecordBatch.of(1, ByteBuffer.wrap(payload)))).baseOffset();
            assertThatThrownBy(() -> s.append(RecordBatch.of(1, ByteBuffer.allocate(size + 1))).join())
                    .isInstanceOf(CompletionException.class).hasCauseInstanceOf(RecordTooLargeException.class);
        }
        try (DurableStreamStore store = builder.build()) {
            Stream s = await(store.openStream(id, 1));
            try (FetchResult r = await(s.fetch(offset, offset + 1, 1))) {
                FetchedBatch b = r.batches().get(0);
                byte[] read = new byte[b.sizeBytes()];
                b.payload().get(read);
                assertThat(read).isEqualTo(payload);
            }
        }
    }
}
