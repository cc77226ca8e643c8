package dev.strata.core;

import dev.strata.core.settings.StoreSettings;
import dev.strata.core.settings.StoreSizes;
import java.time.Duration;

/**
 * The engine's tunables, from the validated {@link StoreSettings} and the {@link StoreSizes} derived from
 * them. Immutable.
 *
 * @param maxBatchBytes largest payload of one appended batch
 * @param uploadThresholdBytes unuploaded bytes that trigger an upload
 * @param uploadInterval longest time data waits in the WAL before an upload starts
 * @param uploadRetryBackoff first wait after a failed upload (doubles up to 30 s)
 * @param appendBackpressureWait how long an append waits for cache or WAL room before failing with
 *     {@code BackpressureException}
 * @param objectBlockBytes target size of a data block in uploaded objects
 * @param streamObjectThresholdBytes a stream with at least this much data in one upload gets its own
 *     stream object instead of a share of the stream-set object
 * @param completeOnAppendingThread whether an append the WAL made durable on the appending thread
 *     ({@code walCallerWritesWhenIdle}) completes its future there when the stream has no completion
 *     pending, instead of on the callback executor
 */
record EngineConfig(int maxBatchBytes, long uploadThresholdBytes, Duration uploadInterval, Duration uploadRetryBackoff,
        Duration appendBackpressureWait, int objectBlockBytes, long streamObjectThresholdBytes,
        boolean completeOnAppendingThread) {

    /** The tunables of a store with these settings and sizes. */
    static EngineConfig of(StoreSettings settings, StoreSizes sizes) {
        return new EngineConfig(sizes.maxBatchBytes(), sizes.uploadThresholdBytes(), settings.upload().interval(),
                settings.upload().retryBackoff(), settings.append().backpressureWait(), settings.upload().objectBlockBytes(),
                settings.upload().streamObjectThresholdBytes(), settings.wal().callerWritesWhenIdle());
    }
}
