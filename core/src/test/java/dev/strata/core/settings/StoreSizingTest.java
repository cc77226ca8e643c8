package dev.strata.core.settings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.core.MemoryLimits;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.wal.WalOptions;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The sizing policy as a pure function: every derived size, its constants and its boundaries. */
class StoreSizingTest {
    private static final int HEADER = StreamBatchCodec.headerSize();
    private static final long KIB = 1L << 10;
    private static final long MIB = 1L << 20;

    @Test
    void defaultsGiveEveryDocumentedSize() {
        StoreSizes sizes = resolve(wal(OptionalLong.empty()), cache(OptionalLong.empty()), append(OptionalInt.empty()),
                upload(OptionalLong.empty()));

        assertThat(sizes.walCapacityBytes()).isEqualTo(1L << 30);
        assertThat(sizes.walWriteBufferBytes()).isEqualTo(2 << 20); // 1 MiB + header + 132 KiB, next power of two
        assertThat(sizes.logCacheBytes()).isEqualTo(256 * MIB);
        assertThat(sizes.cacheBlockBytes()).isEqualTo(8 * MIB); // min(8 MiB, threshold / 4, logCache / 8)
        assertThat(sizes.blockCacheBytes()).isEqualTo(256 * MIB);
        assertThat(sizes.maxInFlightReadBytes()).isEqualTo(64 * MIB);
        assertThat(sizes.uploadThresholdBytes()).isEqualTo(64 * MIB);
        assertThat(sizes.maxBatchBytes()).isEqualTo(1 << 20);
        assertThat(sizes.maxRecordBytes()).isEqualTo(HEADER + (1 << 20));
        assertThat(sizes.compaction()).isEqualTo(new CompactionSizes(256 * MIB, 8 * MIB, Duration.ofHours(1).toMillis(),
                0.2, 4 * 256 * MIB, 8, 8 * MIB, 2 * 8 * MIB));
    }

    @Test
    void compactionConstantsAreThePlannersDocumentedOnes() {
        assertThat(StoreSizing.COMPACTION_MAX_DEAD_FRACTION).isEqualTo(0.2);
        assertThat(StoreSizing.COMPACTION_MAX_INPUT_TARGETS).isEqualTo(4);
        assertThat(StoreSizing.COMPACTION_MAX_SMALL_OBJECTS).isEqualTo(8);
        assertThat(StoreSizing.MAX_COMPACTION_READ_CHUNK_BYTES).isEqualTo(8 * MIB);
        CompactionSettings small = new CompactionSettings(Duration.ZERO, 10 * MIB, Duration.ofSeconds(7), Duration.ZERO,
                Duration.ZERO, 0);
        CompactionSizes c = StoreSizing.resolve(wal(OptionalLong.empty()), cache(OptionalLong.empty()),
                append(OptionalInt.empty()), upload(OptionalLong.empty()), small).compaction();
        assertThat(c.targetObjectBytes()).isEqualTo(10 * MIB);
        assertThat(c.maxInputBytes()).isEqualTo(40 * MIB);
        assertThat(c.splitAgeMillis()).isEqualTo(7_000);
    }

    /** The compaction read chunk follows the in-flight read limit up to 8 MiB; a task holds two chunks or two blocks. */
    @Test
    void compactionReadChunkAndTaskMemoryFollowTheReadLimitAndTheBlockSize() {
        CacheSettings twoMib = new CacheSettings(OptionalLong.empty(), MIB, 2 * MIB);
        StoreSizes small = StoreSizing.resolve(wal(OptionalLong.empty()), twoMib, append(OptionalInt.empty()),
                upload(OptionalLong.empty()), CompactionSettings.defaults());
        assertThat(small.compaction().readChunkBytes()).isEqualTo(2 * MIB);
        assertThat(small.compaction().taskBytes()).isEqualTo(2 * Math.max(2 * MIB, MIB + small.maxRecordBytes()));

        UploadSettings bigBlocks = new UploadSettings(OptionalLong.empty(), UploadSettings.DEFAULT_INTERVAL,
                UploadSettings.DEFAULT_RETRY_BACKOFF, 64 << 20, UploadSettings.DEFAULT_STREAM_OBJECT_THRESHOLD_BYTES,
                UploadSettings.DEFAULT_CLOSE_TIMEOUT);
        StoreSizes big = StoreSizing.resolve(wal(OptionalLong.empty()), cache(OptionalLong.empty()),
                append(OptionalInt.empty()), bigBlocks, CompactionSettings.defaults());
        assertThat(big.compaction().readChunkBytes()).isEqualTo(8 * MIB);
        assertThat(big.compaction().taskBytes()).isEqualTo(2 * (64 * MIB + big.maxRecordBytes()));
    }

    /** The memory budget: each component's share, the pool's allowance, and their total. */
    @Test
    void memoryLimitsSplitTheBudgetByComponentPlusThePoolAllowance() {
        StoreSizes sizes = resolve(wal(OptionalLong.empty()), cache(OptionalLong.empty()), append(OptionalInt.empty()),
                upload(OptionalLong.empty()));
        MemoryLimits limits = sizes.memoryLimits(13 * MIB, 4, 4 * MIB);
        long pooled = 256 * MIB + 256 * MIB + 64 * MIB + 16 * MIB; // LogCache, BlockCache, reads, compaction task
        assertThat(limits).isEqualTo(new MemoryLimits(256 * MIB, 13 * MIB, 256 * MIB, 64 * MIB, 16 * MIB,
                pooled / 4 + 4 * 4 * MIB));
        assertThat(limits.directBytes()).isEqualTo(pooled + 13 * MIB + pooled / 4 + 16 * MIB);
        // no pooled allocator: only the size-class rounding
        assertThat(sizes.memoryLimits(0, 0, 0).poolAllowanceBytes()).isEqualTo(pooled / 4);
    }

    /**
     * Regression guard for issue 18 item 1 (the limits issue's sizing bug): the WAL write buffer was
     * derived in 1 MiB steps ({@code maxBatchBytes(8 MiB)} gave 9437184), which the WAL refuses. Every
     * accepted batch size, at each power-of-two edge, gives a power of two the WAL accepts that holds the batch.
     */
    @Test
    void walWriteBufferIsAPowerOfTwoTheWalAcceptsThatHoldsTheLargestBatchAtEveryEdge() {
        StoreSizes eightMib = resolve(wal(OptionalLong.empty()), cache(OptionalLong.empty()), append(OptionalInt.of(8 << 20)),
                upload(OptionalLong.empty()));
        assertThat(eightMib.walWriteBufferBytes()).isEqualTo(16 << 20).isNotEqualTo(9437184);
        for (int k = 10; k <= 26; k++) {
            for (long delta = -1; delta <= 1; delta++) {
                long edge = (1L << k) - HEADER - StoreSizing.WAL_WRITE_OVERHEAD_BYTES + delta;
                for (long batch : new long[] {1, edge, 1L << k, (1L << k) + 1}) {
                    if (batch < 1 || batch > AppendSettings.MAX_BATCH_BYTES) {
                        continue;
                    }
                    StoreSizes s = resolve(wal(OptionalLong.empty()), cache(OptionalLong.empty()),
                            append(OptionalInt.of((int) batch)), upload(OptionalLong.empty()));
                    int buffer = s.walWriteBufferBytes();
                    assertThat(Integer.bitCount(buffer)).as("power of two for batch %s: %s", batch, buffer).isEqualTo(1);
                    assertThat(buffer).isBetween(64 << 10, 64 << 20); // the WAL's range
                    assertThat((long) buffer).isGreaterThanOrEqualTo(HEADER + batch + StoreSizing.WAL_WRITE_OVERHEAD_BYTES);
                    assertThat(s.walCapacityBytes()).isGreaterThanOrEqualTo(4L * buffer);
                    WalOptions.builder(java.nio.file.Path.of("unused")).capacityBytes(s.walCapacityBytes())
                            .writeBufferBytes(buffer).build(); // the WAL's own checks accept it
                }
            }
        }
    }

    /** Regression guard for issue 18 item 7: {@code walCapacity(64 MiB)} alone failed on the default upload threshold. */
    @Test
    void aSmallWalAloneScalesTheThresholdTheBatchAndTheBuffers() {
        StoreSizes wal64 = resolve(wal(OptionalLong.of(64 * MIB)), cache(OptionalLong.empty()), append(OptionalInt.empty()),
                upload(OptionalLong.empty()));
        assertThat(wal64.uploadThresholdBytes()).isEqualTo(16 * MIB); // a quarter of the WAL, not the default 64 MiB
        assertThat(wal64.maxBatchBytes()).isEqualTo(1 << 20);

        StoreSizes smallest = resolve(wal(OptionalLong.of(WalSettings.MIN_CAPACITY_BYTES)), cache(OptionalLong.empty()),
                append(OptionalInt.empty()), upload(OptionalLong.empty()));
        assertThat(smallest.uploadThresholdBytes()).isEqualTo(256 * KIB);
        assertThat(smallest.walWriteBufferBytes()).isEqualTo(256 << 10); // four of them fill the WAL exactly
        assertThat(smallest.maxBatchBytes()).isEqualTo((int) (256 * KIB - StoreSizing.WAL_WRITE_OVERHEAD_BYTES - HEADER));
        assertThat(smallest.cacheBlockBytes()).isEqualTo(64 * KIB); // the minimum block
    }

    @Test
    void defaultsRiseWithChosenSizes() {
        StoreSizes bigThreshold = resolve(wal(OptionalLong.empty()), cache(OptionalLong.empty()),
                append(OptionalInt.empty()), upload(OptionalLong.of(600 * MIB + 1)));
        assertThat(bigThreshold.logCacheBytes()).isEqualTo(2 * (600 * MIB + 1));
        assertThat(bigThreshold.walCapacityBytes()).isEqualTo(1200 * MIB + 4096); // twice, rounded up to 4096
        assertThat(bigThreshold.cacheBlockBytes()).isEqualTo(8 * MIB); // the LogCache's default block is the cap

        StoreSizes bigBatch = resolve(wal(OptionalLong.empty()), cache(OptionalLong.empty()),
                append(OptionalInt.of(AppendSettings.MAX_BATCH_BYTES)), upload(OptionalLong.empty()));
        assertThat(bigBatch.walWriteBufferBytes()).isEqualTo(64 << 20);
        // twice the batch (64 MiB) and four buffers (256 MiB) stay under the defaults: they rise only above them
        assertThat(bigBatch.logCacheBytes()).isEqualTo(256 * MIB);
        assertThat(bigBatch.walCapacityBytes()).isEqualTo(1L << 30);
    }

    @Test
    void uploadThresholdAtHalfOfTheLogCacheIsAcceptedAndOneMoreConflicts() {
        long cache = 64 * MIB;
        assertThat(resolve(wal(OptionalLong.empty()), cache(OptionalLong.of(cache)), append(OptionalInt.empty()),
                upload(OptionalLong.of(cache / 2))).uploadThresholdBytes()).isEqualTo(cache / 2);
        assertThatThrownBy(() -> resolve(wal(OptionalLong.empty()), cache(OptionalLong.of(cache)),
                append(OptionalInt.empty()), upload(OptionalLong.of(cache / 2 + 1))))
                .isInstanceOfSatisfying(InvalidSettingException.class, e -> assertThat(e.settings())
                        .containsExactly("uploadThresholdBytes", "logCacheBytes"))
                .hasMessageContaining("uploadThresholdBytes (" + (cache / 2 + 1) + ")")
                .hasMessageContaining("logCacheBytes (" + cache + ")");
    }

    @Test
    void uploadThresholdAtHalfOfTheWalIsAcceptedAndOneMoreConflicts() {
        long wal = 64 * MIB;
        assertThat(resolve(wal(OptionalLong.of(wal)), cache(OptionalLong.empty()), append(OptionalInt.empty()),
                upload(OptionalLong.of(wal / 2))).uploadThresholdBytes()).isEqualTo(wal / 2);
        assertThatThrownBy(() -> resolve(wal(OptionalLong.of(wal)), cache(OptionalLong.empty()),
                append(OptionalInt.empty()), upload(OptionalLong.of(wal / 2 + 1))))
                .isInstanceOfSatisfying(InvalidSettingException.class, e -> assertThat(e.settings())
                        .containsExactly("uploadThresholdBytes", "walCapacity"))
                .hasMessageContaining("walCapacity (" + wal + ")");
    }

    @Test
    void batchAtHalfOfTheLogCacheIsAcceptedAndOneMoreConflicts() {
        long cache = 8 * MIB;
        int largest = (int) (cache / 2 - HEADER);
        assertThat(resolve(wal(OptionalLong.empty()), cache(OptionalLong.of(cache)), append(OptionalInt.of(largest)),
                upload(OptionalLong.empty())).maxBatchBytes()).isEqualTo(largest);
        assertThatThrownBy(() -> resolve(wal(OptionalLong.empty()), cache(OptionalLong.of(cache)),
                append(OptionalInt.of(largest + 1)), upload(OptionalLong.empty())))
                .isInstanceOfSatisfying(InvalidSettingException.class, e -> assertThat(e.settings())
                        .containsExactly("maxBatchBytes", "logCacheBytes"))
                .hasMessageContaining("maxBatchBytes (" + (largest + 1) + ")");
    }

    @Test
    void batchWhoseBuffersTheWalCannotHoldFourOfConflicts() {
        long wal = 4 * MIB; // holds four buffers of 1 MiB: batches up to 1 MiB - header - 132 KiB
        int largest = (int) (MIB - HEADER - StoreSizing.WAL_WRITE_OVERHEAD_BYTES);
        assertThat(resolve(wal(OptionalLong.of(wal)), cache(OptionalLong.empty()), append(OptionalInt.of(largest)),
                upload(OptionalLong.empty())).walWriteBufferBytes()).isEqualTo(1 << 20);
        assertThatThrownBy(() -> resolve(wal(OptionalLong.of(wal)), cache(OptionalLong.empty()),
                append(OptionalInt.of(largest + 1)), upload(OptionalLong.empty())))
                .isInstanceOfSatisfying(InvalidSettingException.class, e -> assertThat(e.settings())
                        .containsExactly("maxBatchBytes", "walCapacity"))
                .hasMessageContaining("needs WAL write buffers of " + (2 << 20) + " bytes")
                .hasMessageContaining("raise walCapacity or lower maxBatchBytes");
    }

    @Test
    void cacheBlockIsBetween64KibAnd8MibAndFollowsTheThresholdAndTheCache() {
        assertThat(resolve(wal(OptionalLong.empty()), cache(OptionalLong.empty()), append(OptionalInt.empty()),
                upload(OptionalLong.of(1))).cacheBlockBytes()).isEqualTo(64 * KIB);
        assertThat(resolve(wal(OptionalLong.empty()), cache(OptionalLong.empty()), append(OptionalInt.empty()),
                upload(OptionalLong.of(4 * MIB))).cacheBlockBytes()).isEqualTo(MIB); // threshold / 4
        // the threshold is at most half the cache, so logCache / 8 binds only where the threshold is at that limit
        assertThat(resolve(wal(OptionalLong.empty()), cache(OptionalLong.of(16 * MIB)), append(OptionalInt.empty()),
                upload(OptionalLong.of(8 * MIB))).cacheBlockBytes()).isEqualTo(2 * MIB);
        assertThat(resolve(wal(OptionalLong.empty()), cache(OptionalLong.empty()), append(OptionalInt.empty()),
                upload(OptionalLong.of(256 * MIB))).cacheBlockBytes()).isEqualTo(8 * MIB); // the LogCache's default block
    }

    @Test
    void sameSettingsGiveSameSizes() {
        assertThat(resolve(wal(OptionalLong.of(64 * MIB)), cache(OptionalLong.empty()), append(OptionalInt.of(12345)),
                upload(OptionalLong.empty()))).isEqualTo(resolve(wal(OptionalLong.of(64 * MIB)), cache(OptionalLong.empty()),
                append(OptionalInt.of(12345)), upload(OptionalLong.empty())));
    }

    private static StoreSizes resolve(WalSettings wal, CacheSettings cache, AppendSettings append, UploadSettings upload) {
        return StoreSizing.resolve(wal, cache, append, upload, CompactionSettings.defaults());
    }

    private static WalSettings wal(OptionalLong capacity) {
        return new WalSettings(capacity, WalOptions.Backend.AUTO, false);
    }

    private static CacheSettings cache(OptionalLong logCache) {
        return new CacheSettings(logCache, CacheSettings.DEFAULT_BLOCK_CACHE_BYTES, CacheSettings.DEFAULT_MAX_IN_FLIGHT_READ_BYTES);
    }

    private static AppendSettings append(OptionalInt maxBatch) {
        return new AppendSettings(maxBatch, AppendSettings.DEFAULT_BACKPRESSURE_WAIT);
    }

    private static UploadSettings upload(OptionalLong threshold) {
        return new UploadSettings(threshold, UploadSettings.DEFAULT_INTERVAL, UploadSettings.DEFAULT_RETRY_BACKOFF,
                UploadSettings.DEFAULT_OBJECT_BLOCK_BYTES, UploadSettings.DEFAULT_STREAM_OBJECT_THRESHOLD_BYTES,
                UploadSettings.DEFAULT_CLOSE_TIMEOUT);
    }
}
