package dev.strata.objectstore;

/**
 * What the store knows about one object: its key (relative to the storage's prefix), size in bytes
 * and ETag. The ETag changes on every successful write and is what {@link PutCondition#ifMatch}
 * compares; its format is backend-specific (quoted MD5 on S3) and opaque to callers.
 * {@link ObjectStorage#list} may return a {@code null} ETag when the backend does not provide it cheaply.
 */
public record ObjectInfo(String key, long size, String etag) {
}
