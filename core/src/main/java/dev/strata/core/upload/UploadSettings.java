package dev.strata.core.upload;

import java.time.Duration;

/**
 * Settings of the uploader. Immutable; validated by the builder.
 *
 * @param interval longest time data waits in the WAL before an upload starts
 * @param retryBackoff first wait after a failed upload (doubles up to 30 s)
 * @param objectBlockBytes target size of a data block in uploaded objects
 * @param streamObjectThresholdBytes a stream with at least this much data in one upload gets its own
 *     stream object instead of a share of the stream-set object
 */
public record UploadSettings(Duration interval, Duration retryBackoff, int objectBlockBytes,
        long streamObjectThresholdBytes) {
}
