package dev.strata.core.reliability;

import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ForwardingObjectUpload;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorageMetrics;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.PutCondition;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * An {@link ObjectStorage} whose requests can be held back, to simulate a paused process (a long GC
 * pause, a frozen VM): while paused, requests are not sent; on {@link #resume()} they are sent, in
 * the order they were made, as a process waking up would send them. Thread-safe. Buffers follow the
 * {@link ObjectStorage} contract: a held put keeps its buffer until it is sent, and the delegate
 * releases it.
 */
final class PausableObjectStorage implements ObjectStorage {
    private final ObjectStorage delegate;
    private final AtomicInteger held = new AtomicInteger();
    private CompletableFuture<Void> gate = CompletableFuture.completedFuture(null); // guarded by: this

    PausableObjectStorage(ObjectStorage delegate) {
        this.delegate = delegate;
    }

    synchronized void pause() {
        if (gate.isDone()) {
            gate = new CompletableFuture<>();
        }
    }

    /** Sends the held requests and lets later ones through. */
    void resume() {
        CompletableFuture<Void> g;
        synchronized (this) {
            g = gate;
        }
        g.complete(null);
    }

    /** Requests held back since the last pause. */
    int held() {
        return held.get();
    }

    private <T> CompletableFuture<T> gated(Supplier<CompletableFuture<T>> call) {
        CompletableFuture<Void> g;
        synchronized (this) {
            g = gate;
        }
        if (g.isDone()) {
            return call.get();
        }
        held.incrementAndGet();
        return g.thenCompose(v -> call.get());
    }

    @Override
    public CompletableFuture<ObjectInfo> put(String key, io.netty.buffer.ByteBuf data, PutCondition condition) {
        return gated(() -> delegate.put(key, data, condition));
    }

    @Override
    public ObjectUpload startUpload(String key, PutCondition condition) {
        ObjectUpload upload = delegate.startUpload(key, condition);
        return new ForwardingObjectUpload(upload) {
            @Override
            public CompletableFuture<Void> write(io.netty.buffer.ByteBuf data) {
                return gated(() -> upload.write(data));
            }

            @Override
            public CompletableFuture<ObjectInfo> complete() {
                return gated(upload::complete);
            }

            @Override
            public CompletableFuture<Void> abort() {
                return gated(upload::abort);
            }
        };
    }

    @Override
    public CompletableFuture<ObjectData> get(String key, ByteRange range) {
        return gated(() -> delegate.get(key, range));
    }

    @Override
    public CompletableFuture<ObjectInfo> head(String key) {
        return gated(() -> delegate.head(key));
    }

    @Override
    public CompletableFuture<Void> delete(Collection<String> keys) {
        return gated(() -> delegate.delete(keys));
    }

    @Override
    public CompletableFuture<List<ObjectInfo>> list(String prefix) {
        return gated(() -> delegate.list(prefix));
    }

    @Override
    public CompletableFuture<List<dev.strata.objectstore.IncompleteUpload>> listIncompleteUploads() {
        return gated(delegate::listIncompleteUploads);
    }

    @Override
    public CompletableFuture<Void> abortIncompleteUploads(Collection<dev.strata.objectstore.IncompleteUpload> uploads) {
        return gated(() -> delegate.abortIncompleteUploads(uploads));
    }

    @Override
    public ObjectStorageMetrics metrics() {
        return delegate.metrics();
    }

    @Override
    public void close() {
        resume();
    }
}
