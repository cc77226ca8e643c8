package dev.strata.objectstore;

import io.netty.buffer.ByteBuf;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Adds retries to any {@link ObjectStorage} (e.g. {@link LocalObjectStorage}, or a fault-injecting
 * wrapper in tests) with a {@link Retrier}: GET, HEAD, LIST, DELETE and unconditional PUT are
 * retried on THROTTLED and TRANSIENT failures; conditional PUTs only on THROTTLED (see Retrier).
 * Streaming uploads are passed through unretried: their parts cannot be replayed from here (the
 * S3 backend retries its parts itself). {@code S3ObjectStorage} already retries; do not wrap it.
 *
 * <p>Thread-safe if the delegate is. A retried PUT keeps the buffer until the last attempt ended:
 * each attempt gets a {@code retainedDuplicate()} and the wrapper releases its own reference at the end.
 */
public final class RetryingObjectStorage implements ObjectStorage {
    private final ObjectStorage delegate;
    private final Retrier retrier;

    public RetryingObjectStorage(ObjectStorage delegate, Retrier retrier) {
        this.delegate = delegate;
        this.retrier = retrier;
    }

    @Override
    public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
        try {
            ObjectKeys.validate(key);
        } catch (RuntimeException e) {
            data.release();
            throw e;
        }
        return Retrier.unwrapped(retrier.run(Operation.PUT, key, condition.isNone(),
                () -> delegate.put(key, data.retainedDuplicate(), condition))
                .whenComplete((v, e) -> data.release()));
    }

    @Override
    public ObjectUpload startUpload(String key, PutCondition condition) {
        return delegate.startUpload(key, condition);
    }

    @Override
    public CompletableFuture<ObjectData> get(String key, ByteRange range) {
        return retrier.run(Operation.GET, key, true, () -> delegate.get(key, range));
    }

    @Override
    public CompletableFuture<ObjectInfo> head(String key) {
        return retrier.run(Operation.HEAD, key, true, () -> delegate.head(key));
    }

    @Override
    public CompletableFuture<Void> delete(Collection<String> keys) {
        return retrier.run(Operation.DELETE, null, true, () -> delegate.delete(keys));
    }

    @Override
    public CompletableFuture<List<ObjectInfo>> list(String prefix) {
        return retrier.run(Operation.LIST, prefix, true, () -> delegate.list(prefix));
    }

    @Override
    public CompletableFuture<List<IncompleteUpload>> listIncompleteUploads() {
        return retrier.run(Operation.LIST, null, true, delegate::listIncompleteUploads);
    }

    @Override
    public CompletableFuture<Void> abortIncompleteUploads(Collection<IncompleteUpload> uploads) {
        return retrier.run(Operation.MULTIPART_ABORT, null, true, () -> delegate.abortIncompleteUploads(uploads));
    }

    @Override
    public ObjectStorageMetrics metrics() {
        return delegate.metrics();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
