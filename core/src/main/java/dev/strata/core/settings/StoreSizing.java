package dev.strata.core.settings;

import dev.strata.cache.LogCache;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.wal.WalOptions;

/**
 * The sizing policy: from settings to the sizes a store runs with ({@link StoreSizes}, and through it
 * {@link dev.strata.core.MemoryLimits}). A pure function: no I/O, no components, no clock.
 *
 * <p>Rules (DESIGN: only a conflict between two chosen settings is an error):
 * <ul>
 *   <li>A size the user did not set is its default, raised where a size the user did set needs more
 *       (LogCache and WAL: twice the upload threshold; LogCache twice the largest batch, the WAL four of
 *       its write buffers) and lowered where a chosen size allows less (upload threshold at most a
 *       quarter of the LogCache and of the WAL; the largest batch what half the LogCache and one WAL
 *       write buffer hold).</li>
 *   <li>Then the upload threshold must be at most half of the LogCache and of the WAL, a batch with its
 *       header at most half of the LogCache, and the WAL must hold four write buffers; otherwise
 *       {@link InvalidSettingException} names both settings and which to change.</li>
 *   <li>A WAL write buffer is a power of two in [{@link #MIN_WAL_WRITE_BUFFER_BYTES},
 *       {@link #MAX_WAL_WRITE_BUFFER_BYTES}] that holds one largest batch with its
 *       {@link #WAL_WRITE_OVERHEAD_BYTES} (issue 18: it was rounded to 1 MiB steps, which the WAL refused),
 *       and at least the WAL's default where the WAL is large enough.</li>
 * </ul>
 * Stateless.
 */
public final class StoreSizing {
    /** What one WAL write needs beyond its record: padding of up to two blocks of up to 64 KiB, and record headers. */
    public static final int WAL_WRITE_OVERHEAD_BYTES = 132 << 10;
    /** The largest WAL write buffer (the WAL's limit). */
    public static final int MAX_WAL_WRITE_BUFFER_BYTES = 64 << 20;
    /** The smallest WAL write buffer: one group commit (the WAL's default group commit size). */
    public static final int MIN_WAL_WRITE_BUFFER_BYTES = WalOptions.DEFAULT_GROUP_COMMIT_BYTES;
    /** The smallest LogCache block: smaller blocks would cost more in per-block overhead than they save. */
    public static final long MIN_CACHE_BLOCK_BYTES = 64L << 10;
    /** An object with more dead bytes than this share is rewritten: stored/live stays at most 1 / 0.8. */
    public static final double COMPACTION_MAX_DEAD_FRACTION = 0.2;
    /** A compaction cycle takes at most this many target objects' worth of stream-set input. */
    public static final int COMPACTION_MAX_INPUT_TARGETS = 4;
    /** Small stream objects of one stream merged even before they add up to half the target. */
    public static final int COMPACTION_MAX_SMALL_OBJECTS = 8;
    /** The largest compaction read chunk: bounds a task's memory whatever the in-flight read limit. */
    public static final long MAX_COMPACTION_READ_CHUNK_BYTES = 8L << 20;

    private StoreSizing() {
    }

    /** {@link #resolve(WalSettings, CacheSettings, AppendSettings, UploadSettings, CompactionSettings)} of its groups. */
    public static StoreSizes resolve(StoreSettings settings) {
        return resolve(settings.wal(), settings.cache(), settings.append(), settings.upload(), settings.compaction());
    }

    /**
     * The sizes a store with these settings runs with.
     *
     * @throws InvalidSettingException if two chosen settings conflict (the message names both and which to change)
     */
    public static StoreSizes resolve(WalSettings wal, CacheSettings cache, AppendSettings append, UploadSettings upload,
            CompactionSettings compaction) {
        int header = StreamBatchCodec.headerSize();
        long logCache = cache.logCacheBytes().orElse(Math.max(CacheSettings.DEFAULT_LOG_CACHE_BYTES,
                Math.max(upload.thresholdBytes().isPresent() ? 2 * upload.thresholdBytes().getAsLong() : 0,
                        append.maxBatchBytes().isPresent() ? 2 * ((long) header + append.maxBatchBytes().getAsInt()) : 0)));
        long walCapacity = wal.capacityBytes().orElse(Math.max(WalSettings.DEFAULT_CAPACITY_BYTES,
                Math.max(upload.thresholdBytes().isPresent() ? roundUp4096(2 * upload.thresholdBytes().getAsLong()) : 0,
                        append.maxBatchBytes().isPresent() ? 4L * walWriteBufferFor(append.maxBatchBytes().getAsInt()) : 0)));
        int largestWriteBuffer = (int) Math.min(MAX_WAL_WRITE_BUFFER_BYTES, Long.highestOneBit(walCapacity / 4));
        int maxBatch = append.maxBatchBytes().orElse((int) Math.max(1, Math.min(AppendSettings.DEFAULT_MAX_BATCH_BYTES,
                Math.min(logCache / 2 - header, largestWriteBuffer - WAL_WRITE_OVERHEAD_BYTES - header))));
        long threshold = upload.thresholdBytes().orElse(Math.max(1, Math.min(UploadSettings.DEFAULT_THRESHOLD_BYTES,
                Math.min(logCache / 4, walCapacity / 4))));

        if (threshold > logCache / 2) {
            throw InvalidSettingException.conflict("uploadThresholdBytes", "logCacheBytes", "uploadThresholdBytes ("
                    + threshold + ") must be at most half of logCacheBytes (" + logCache + ") so uploads start before the"
                    + " cache is full: raise logCacheBytes or lower uploadThresholdBytes");
        }
        if (threshold > walCapacity / 2) {
            throw InvalidSettingException.conflict("uploadThresholdBytes", "walCapacity", "uploadThresholdBytes ("
                    + threshold + ") must be at most half of walCapacity (" + walCapacity + "): raise walCapacity or"
                    + " lower uploadThresholdBytes");
        }
        if ((long) header + maxBatch > logCache / 2) {
            throw InvalidSettingException.conflict("maxBatchBytes", "logCacheBytes", "maxBatchBytes (" + maxBatch
                    + ") must be at most half of logCacheBytes (" + logCache + ") minus " + header + " bytes of batch"
                    + " header: an append waits for room in the cache, and a larger batch would never find it; raise"
                    + " logCacheBytes or lower maxBatchBytes");
        }
        int writeBuffer = Math.max(walWriteBufferFor(maxBatch), Math.min(WalOptions.DEFAULT_WRITE_BUFFER_BYTES,
                largestWriteBuffer));
        if (writeBuffer > walCapacity / 4) {
            throw InvalidSettingException.conflict("maxBatchBytes", "walCapacity", "maxBatchBytes (" + maxBatch
                    + ") needs WAL write buffers of " + writeBuffer + " bytes, and the WAL must hold four of them:"
                    + " walCapacity (" + walCapacity + ") must be at least " + 4L * writeBuffer + "; raise walCapacity"
                    + " or lower maxBatchBytes");
        }
        int maxRecord = header + maxBatch;
        // Blocks are the unit the uploader seals and the cache evicts: a few per upload.
        long cacheBlock = Math.max(MIN_CACHE_BLOCK_BYTES, Math.min(LogCache.DEFAULT_BLOCK_SIZE_BYTES,
                Math.min(threshold / 4, logCache / 8)));
        return new StoreSizes(walCapacity, writeBuffer, logCache, cacheBlock, cache.blockCacheBytes(),
                cache.maxInFlightReadBytes(), threshold, maxBatch, maxRecord,
                compaction(compaction, upload, cache.maxInFlightReadBytes(), maxRecord));
    }

    private static CompactionSizes compaction(CompactionSettings compaction, UploadSettings upload,
            long maxInFlightReadBytes, int maxRecord) {
        long target = compaction.targetObjectBytes();
        // A compaction read follows the user's in-flight read limit, up to 8 MiB.
        long readChunk = Math.min(MAX_COMPACTION_READ_CHUNK_BYTES, maxInFlightReadBytes);
        // One read holds at least one whole block (which may end with a whole batch).
        long task = 2 * Math.max(readChunk, (long) upload.objectBlockBytes() + maxRecord);
        return new CompactionSizes(target, upload.streamObjectThresholdBytes(), compaction.streamSetSplitAge().toMillis(),
                COMPACTION_MAX_DEAD_FRACTION, COMPACTION_MAX_INPUT_TARGETS * target, COMPACTION_MAX_SMALL_OBJECTS,
                readChunk, task);
    }

    /** The WAL write buffer (a power of two) that holds one batch of {@code maxBatch} payload bytes. */
    static int walWriteBufferFor(int maxBatch) {
        long need = (long) StreamBatchCodec.headerSize() + maxBatch + WAL_WRITE_OVERHEAD_BYTES;
        long pow2 = Long.highestOneBit(need - 1) << 1;
        return (int) Math.max(MIN_WAL_WRITE_BUFFER_BYTES, pow2);
    }

    private static long roundUp4096(long bytes) {
        return (bytes + 4095) / 4096 * 4096;
    }
}
