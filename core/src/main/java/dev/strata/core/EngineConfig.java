package dev.strata.core;

import java.time.Duration;

/**
 * The engine's tunables, validated by {@link Strata.Builder}. Immutable.
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
 */
record EngineConfig(int maxBatchBytes, long uploadThresholdBytes, Duration uploadInterval, Duration uploadRetryBackoff,
        Duration appendBackpressureWait, int objectBlockBytes, long streamObjectThresholdBytes) {
}
