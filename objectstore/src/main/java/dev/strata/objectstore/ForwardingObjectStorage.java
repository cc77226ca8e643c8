package dev.strata.objectstore;

import io.netty.buffer.ByteBuf;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * An {@link ObjectStorage} that forwards every call to a delegate: a wrapper extends it and
 * overrides only the operations it changes (add latency, hold requests, inject faults, enforce a
 * contract). {@link #close()} does not close the delegate, which whoever made it owns. Thread-safe
 * if the delegate is.
 */
public abstract class ForwardingObjectStorage implements ObjectStorage {
    protected final ObjectStorage delegate;

    protected ForwardingObjectStorage(ObjectStorage delegate) {
        this.delegate = delegate;
    }

    @Override
    public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
        return delegate.put(key, data, condition);
    }

    @Override
    public ObjectUpload startUpload(String key, PutCondition condition) {
        return delegate.startUpload(key, condition);
    }

    @Override
    public CompletableFuture<ObjectData> get(String key, ByteRange range) {
        return delegate.get(key, range);
    }

    @Override
    public CompletableFuture<ObjectInfo> head(String key) {
        return delegate.head(key);
    }

    @Override
    public CompletableFuture<Void> delete(Collection<String> keys) {
        return delegate.delete(keys);
    }

    @Override
    public CompletableFuture<List<ObjectInfo>> list(String prefix) {
        return delegate.list(prefix);
    }

    @Override
    public CompletableFuture<List<IncompleteUpload>> listIncompleteUploads() {
        return delegate.listIncompleteUploads();
    }

    @Override
    public CompletableFuture<Void> abortIncompleteUploads(Collection<IncompleteUpload> uploads) {
        return delegate.abortIncompleteUploads(uploads);
    }

    @Override
    public ObjectStorageMetrics metrics() {
        return delegate.metrics();
    }

    @Override
    public void close() {
    }
}
