/**
 * Owns: the S3 backend of {@link dev.strata.objectstore.ObjectStorage}, on the AWS SDK v2 async
 * client with the Netty NIO HTTP client: client settings for AWS and S3-compatible servers
 * ({@link dev.strata.objectstore.s3.S3Options}), mapping S3 errors to typed failures, retries,
 * streaming multipart uploads, batched deletes and paged lists.
 * Does not own: the retry policy itself or the metrics types (parent package), the object format.
 * Threads: requests complete on the SDK's threads ({@code sdk-async-response-*}); retries are
 * scheduled on {@code strata-objectstore-retry}. Neither runs user work.
 * Buffers: writes take ownership of the given buffer and release it once the request (with all
 * retries) has finished; reads stream the response body into one pooled direct buffer
 * ({@code ByteBufResponseTransformer}), which the caller releases.
 */
package dev.strata.objectstore.s3;
