package dev.strata.objectstore.testing;

import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorageMetrics;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.PutCondition;
import io.netty.buffer.ByteBuf;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * An {@link ObjectStorage} that forwards every call to a delegate: tests extend it and override
 * only the operations they change (lose a response, hold requests, enforce a contract).
 * {@link #close()} does not close the delegate, which the test owns. Thread-safe if the delegate is.
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
    public CompletableFuture<List<dev.strata.objectstore.IncompleteUpload>> listIncompleteUploads() {
        return delegate.listIncompleteUploads();
    }

    @Override
    public CompletableFuture<Void> abortIncompleteUploads(Collection<dev.strata.objectstore.IncompleteUpload> uploads) {
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
