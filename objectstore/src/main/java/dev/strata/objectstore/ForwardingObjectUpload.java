package dev.strata.objectstore;

import io.netty.buffer.ByteBuf;
import java.util.concurrent.CompletableFuture;

/**
 * An {@link ObjectUpload} that forwards every call to a delegate: the upload a
 * {@link ForwardingObjectStorage} returns when it changes only some steps of an upload (holds its
 * completion, fails a part, counts bytes). Thread-safety and buffer ownership are the delegate's.
 */
public abstract class ForwardingObjectUpload implements ObjectUpload {
    protected final ObjectUpload delegate;

    protected ForwardingObjectUpload(ObjectUpload delegate) {
        this.delegate = delegate;
    }

    @Override
    public String key() {
        return delegate.key();
    }

    @Override
    public CompletableFuture<Void> write(ByteBuf data) {
        return delegate.write(data);
    }

    @Override
    public long bytesWritten() {
        return delegate.bytesWritten();
    }

    @Override
    public CompletableFuture<ObjectInfo> complete() {
        return delegate.complete();
    }

    @Override
    public CompletableFuture<Void> abort() {
        return delegate.abort();
    }
}
