package dev.strata.core.settings;

import java.time.Duration;
import java.util.OptionalLong;

/**
 * When and how acknowledged data goes to the object store. Validated on construction. Immutable.
 *
 * <p>The canonical constructor throws {@link InvalidSettingException} if a value is out of range.
 *
 * @param thresholdBytes unuploaded bytes that trigger an upload, as the user set it (at least 1);
 *     empty: derived by {@link StoreSizing}
 * @param interval longest time acknowledged data waits before an upload starts, positive
 * @param retryBackoff first wait after a failed upload (doubles up to 30 s), positive
 * @param objectBlockBytes target size of a data block in objects, in [1 KiB, 64 MiB]
 * @param streamObjectThresholdBytes a stream with at least this many bytes in one upload gets its own
 *     stream object, at least 1
 * @param closeTimeout how long {@code close()} waits for its final upload, zero or more
 */
public record UploadSettings(OptionalLong thresholdBytes, Duration interval, Duration retryBackoff,
        int objectBlockBytes, long streamObjectThresholdBytes, Duration closeTimeout) {
    /** Default upload trigger by size: large objects keep request costs low. */
    public static final long DEFAULT_THRESHOLD_BYTES = 64L << 20;
    /** Default upload trigger by age: bounds how much the WAL holds and how stale objects are. */
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(5);
    /** Default first wait after a failed upload: short, as most failures are brief. */
    public static final Duration DEFAULT_RETRY_BACKOFF = Duration.ofMillis(100);
    /** Default data block size in objects: the unit of catch-up reads and caching. */
    public static final int DEFAULT_OBJECT_BLOCK_BYTES = 1 << 20;
    /** Default share of one upload above which a stream gets its own stream object (DESIGN: large streams). */
    public static final long DEFAULT_STREAM_OBJECT_THRESHOLD_BYTES = 8L << 20;
    /** Default of the final upload's wait at close: long enough for a healthy store, short in an outage. */
    public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(5);

    public UploadSettings {
        SettingChecks.notNull("uploadThresholdBytes", thresholdBytes).ifPresent(UploadSettings::checkThresholdBytes);
        SettingChecks.positive("uploadInterval", interval);
        SettingChecks.positive("uploadRetryBackoff", retryBackoff);
        checkObjectBlockBytes(objectBlockBytes);
        SettingChecks.atLeast("streamObjectThresholdBytes", streamObjectThresholdBytes, 1, "1");
        SettingChecks.nonNegative("closeUploadTimeout", closeTimeout);
    }

    /** The defaults: threshold derived, every other value at its default. */
    public static UploadSettings defaults() {
        return new UploadSettings(OptionalLong.empty(), DEFAULT_INTERVAL, DEFAULT_RETRY_BACKOFF,
                DEFAULT_OBJECT_BLOCK_BYTES, DEFAULT_STREAM_OBJECT_THRESHOLD_BYTES, DEFAULT_CLOSE_TIMEOUT);
    }

    /** Checks an {@code uploadThresholdBytes}: at least 1. */
    public static long checkThresholdBytes(long bytes) {
        return SettingChecks.atLeast("uploadThresholdBytes", bytes, 1, "1");
    }

    /** Checks an {@code objectBlockBytes}: in [1 KiB, 64 MiB]. */
    public static int checkObjectBlockBytes(int bytes) {
        return SettingChecks.inRange("objectBlockBytes", bytes, 1024, 64 << 20, "[1 KiB, 64 MiB]");
    }
}
