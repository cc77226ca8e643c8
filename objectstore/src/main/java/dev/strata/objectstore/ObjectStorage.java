package dev.strata.objectstore;

import io.netty.buffer.ByteBuf;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * An object store: whole-object and streaming writes (optionally conditional), ranged reads, head,
 * batched delete and list by prefix. Keys are relative to the storage's root (a directory, or a
 * bucket and prefix); they are '/'-separated, non-empty, and contain no {@code .} or {@code ..}
 * segments and no empty segments.
 *
 * <p><b>Thread-safety:</b> implementations are thread-safe; an {@link ObjectUpload} is not.
 *
 * <p><b>Failures:</b> futures fail with {@link ObjectStorageException} (unwrapped, never inside a
 * further {@code CompletionException}): {@link ObjectNotFoundException},
 * {@link PreconditionFailedException}, or a base exception whose {@link ObjectStorageException#kind()}
 * is {@code THROTTLED}, {@code TRANSIENT} (both retriable) or {@code PERMANENT}. Invalid keys and
 * arguments throw {@link IllegalArgumentException} synchronously.
 *
 * <p><b>Buffers:</b> writes take ownership of the given buffer and release it on every outcome,
 * including a synchronous exception; reads return buffers the caller must release.
 *
 * <p><b>Retries:</b> whether an implementation retries is documented on it
 * ({@code S3ObjectStorage} does, with a {@link RetryPolicy}; {@link LocalObjectStorage} does not).
 */
public interface ObjectStorage extends AutoCloseable {

    /** Most keys one {@link #delete} request carries (the S3 DeleteObjects limit). */
    int MAX_KEYS_PER_DELETE = 1000;

    /**
     * Writes {@code data} (its readable bytes) as the whole object {@code key}, atomically: readers see
     * the old object or the new one, never a mix. Takes ownership of {@code data}.
     *
     * @return the new object's info (size and ETag)
     */
    CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition);

    /** {@link #put(String, ByteBuf, PutCondition)} with {@link PutCondition#none()}. */
    default CompletableFuture<ObjectInfo> put(String key, ByteBuf data) {
        return put(key, data, PutCondition.none());
    }

    /**
     * Starts a streaming write of {@code key}; large objects go out as a multipart upload whose parts
     * are sent while later bytes are still being produced. Nothing is visible until
     * {@link ObjectUpload#complete()} succeeds; the condition is checked at completion.
     */
    ObjectUpload startUpload(String key, PutCondition condition);

    /**
     * Reads {@code range} of {@code key}. A positional range that runs past the end is clamped; one
     * that starts at or after the end of a non-empty object fails with a {@code PERMANENT} error.
     * The caller must release the result.
     */
    CompletableFuture<ObjectData> get(String key, ByteRange range);

    /** Size and ETag of {@code key}; fails with {@link ObjectNotFoundException} if it does not exist. */
    CompletableFuture<ObjectInfo> head(String key);

    /**
     * Deletes {@code keys}, sending at most {@link #MAX_KEYS_PER_DELETE} per request. Missing keys are
     * not an error. Completes when every key is deleted; fails if any key could not be.
     */
    CompletableFuture<Void> delete(Collection<String> keys);

    /** Every object whose key starts with {@code prefix} (may be empty), sorted by key. */
    CompletableFuture<List<ObjectInfo>> list(String prefix);

    /**
     * Uploads started and neither completed nor aborted, by anyone, except the ones this instance
     * has in progress: abandoned S3 multipart uploads, or temporary files a killed process left in a
     * local directory. They cost storage until {@link #abortIncompleteUploads aborted}; whoever owns
     * the store decides which are old enough to be abandoned (Strata's compactor: older than the
     * orphan TTL). The default, for storages that have no such thing, is an empty list.
     */
    default CompletableFuture<List<IncompleteUpload>> listIncompleteUploads() {
        return CompletableFuture.completedFuture(List.of());
    }

    /**
     * Aborts uploads {@link #listIncompleteUploads} returned: their parts or temporary files are
     * deleted; the objects they were writing, if any exists, are untouched. One that is gone
     * already is not an error; one that this instance started since, or (locally) that was written
     * to since it was listed, is skipped. Completes when all are handled; fails if any could not be.
     * The default does nothing.
     */
    default CompletableFuture<Void> abortIncompleteUploads(Collection<IncompleteUpload> uploads) {
        return CompletableFuture.completedFuture(null);
    }

    /** Request counters of this storage; live, not a copy. */
    ObjectStorageMetrics metrics();

    /** Releases clients, threads and files; idempotent. In-flight futures may fail. */
    @Override
    void close();
}
