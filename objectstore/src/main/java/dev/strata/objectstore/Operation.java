package dev.strata.objectstore;

/**
 * The request kinds an {@link ObjectStorage} issues, one per billable S3 request type. Used to key
 * {@link ObjectStorageMetrics}, and by fault injection to pick which requests fail.
 */
public enum Operation {
    /** Whole-object PUT (also the single-request path of a small streaming upload). */
    PUT,
    /** Ranged or whole GET. */
    GET,
    /** HEAD (size and ETag). */
    HEAD,
    /** One list page (up to 1000 keys). */
    LIST,
    /** One batched delete request (up to 1000 keys). */
    DELETE,
    /** CreateMultipartUpload. */
    MULTIPART_CREATE,
    /** UploadPart. */
    MULTIPART_UPLOAD_PART,
    /** CompleteMultipartUpload (conditional when the upload is). */
    MULTIPART_COMPLETE,
    /** AbortMultipartUpload. */
    MULTIPART_ABORT
}
