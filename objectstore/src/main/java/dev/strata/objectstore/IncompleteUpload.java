package dev.strata.objectstore;

import java.time.Instant;

/**
 * An upload that was started and neither completed nor aborted, as {@link ObjectStorage#listIncompleteUploads()}
 * reports it: an S3 multipart upload, or a temporary file of a {@link LocalObjectStorage} (left by a
 * process killed mid-upload). It holds storage (parts, bytes) but is no object: lists never show it.
 *
 * @param key the object key it was writing, or {@code null} where the storage cannot tell (a local
 *     temporary file)
 * @param uploadId what identifies it to {@link ObjectStorage#abortIncompleteUploads}: the S3 upload
 *     id, or the temporary file's path under the storage root
 * @param startedAt when it started (S3: its "Initiated" time) or, where that is unknown, when it was
 *     last written to (a local temporary file's modification time)
 */
public record IncompleteUpload(String key, String uploadId, Instant startedAt) {
    public IncompleteUpload {
        if (uploadId == null || startedAt == null) {
            throw new IllegalArgumentException("uploadId and startedAt must not be null: uploadId=" + uploadId
                    + " startedAt=" + startedAt);
        }
    }
}
