package dev.strata.core.settings;

import java.time.Duration;
import java.util.OptionalInt;

/**
 * Limits of one append. Validated on construction. Immutable.
 *
 * <p>The canonical constructor throws {@link InvalidSettingException} if a value is out of range.
 *
 * @param maxBatchBytes the largest batch payload as the user set it, in [1, {@link #MAX_BATCH_BYTES}];
 *     empty: derived by {@link StoreSizing}
 * @param backpressureWait how long an append waits for the limit that refused it before failing, zero or more
 */
public record AppendSettings(OptionalInt maxBatchBytes, Duration backpressureWait) {
    /** Default largest batch payload (smaller where a small WAL or LogCache set by the user needs it). */
    public static final int DEFAULT_MAX_BATCH_BYTES = 1 << 20;
    /**
     * Largest batch payload accepted: 32 MiB. A batch goes to the WAL in one write, so the WAL's write
     * buffers are the next power of two above it (64 MiB each, six of them, at this maximum).
     */
    public static final int MAX_BATCH_BYTES = 32 << 20;
    /** Default bound on how long an append waits for WAL or cache room before BackpressureException. */
    public static final Duration DEFAULT_BACKPRESSURE_WAIT = Duration.ofMillis(500);

    public AppendSettings {
        SettingChecks.notNull("maxBatchBytes", maxBatchBytes).ifPresent(AppendSettings::checkMaxBatchBytes);
        SettingChecks.nonNegative("appendBackpressureWait", backpressureWait);
    }

    /** The defaults: batch limit derived, {@link #DEFAULT_BACKPRESSURE_WAIT}. */
    public static AppendSettings defaults() {
        return new AppendSettings(OptionalInt.empty(), DEFAULT_BACKPRESSURE_WAIT);
    }

    /** Checks a {@code maxBatchBytes}: in [1, {@link #MAX_BATCH_BYTES}]. */
    public static int checkMaxBatchBytes(int bytes) {
        return SettingChecks.inRange("maxBatchBytes", bytes, 1, MAX_BATCH_BYTES, "[1, " + MAX_BATCH_BYTES + "]");
    }
}
