package dev.strata.core.append;

import java.time.Duration;

/**
 * Settings of the append path. Immutable; validated by the builder.
 *
 * @param maxBatchBytes largest payload of one appended batch
 * @param uploadThresholdBytes unuploaded bytes (in the LogCache, or in the WAL since the last seal)
 *     at which an acknowledged append wakes the uploader
 * @param backpressureWait how long an append waits for cache or WAL room before failing with
 *     {@code BackpressureException}
 * @param completeOnAppendingThread whether an append the WAL made durable on the appending thread
 *     completes its future there when the stream has no completion pending
 */
public record AppendSettings(int maxBatchBytes, long uploadThresholdBytes, Duration backpressureWait,
        boolean completeOnAppendingThread) {
}
