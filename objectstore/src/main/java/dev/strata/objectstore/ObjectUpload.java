package dev.strata.objectstore;

import io.netty.buffer.ByteBuf;
import java.util.concurrent.CompletableFuture;

/**
 * A streaming write of one object, started by {@link ObjectStorage#startUpload}. Bytes are appended
 * with {@link #write(ByteBuf)}; nothing is visible until {@link #complete()} succeeds, and
 * {@link #abort()} (or any failure) discards what was sent.
 *
 * <p><b>Not thread-safe:</b> one producer calls {@code write}, then {@code complete} or {@code abort}.
 * It may call {@code write} again before the previous future completed; bytes keep call order.
 *
 * <p><b>Backpressure:</b> the future of {@code write} completes when the upload has room for more
 * (e.g. fewer than the configured number of parts in flight). A producer that waits for it keeps
 * memory bounded; one that does not is not stopped.
 *
 * <p><b>Buffers:</b> {@code write} takes ownership of {@code data} and releases it on every outcome.
 */
public interface ObjectUpload {

    /** The key being written. */
    String key();

    /**
     * Appends {@code data}'s readable bytes. Takes ownership. After a failure (of this or an earlier
     * write) the upload is aborted and every later call fails with the same exception.
     */
    CompletableFuture<Void> write(ByteBuf data);

    /** Bytes accepted by {@link #write} so far. */
    long bytesWritten();

    /**
     * Makes the object visible, applying the upload's {@link PutCondition}. On failure nothing is
     * visible and the partial upload is cleaned up.
     */
    CompletableFuture<ObjectInfo> complete();

    /** Discards the upload; idempotent; completes when the backend cleaned up (best effort). */
    CompletableFuture<Void> abort();
}
