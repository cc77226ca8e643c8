package dev.strata.core.reliability;

import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ForwardingObjectUpload;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.PutCondition;
import dev.strata.objectstore.ForwardingObjectStorage;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * An {@link ObjectStorage} for outage tests: while {@link #hang()} is on, every request (reads,
 * writes, uploads' parts and completion, listings) is held, never answered, as when the object store
 * stops answering (a partition, a black-holed endpoint). {@link #endOutage()} fails every held
 * request with a retriable error and lets later requests through; {@link #firstHeld()} completes
 * when the first request is held (a test waits on it instead of sleeping). Buffers follow the
 * {@link ObjectStorage} contract: a held write releases its buffer when it is failed. Thread-safe.
 */
final class GatedObjectStorage extends ForwardingObjectStorage {
    private final List<Runnable> heldFailures = new ArrayList<>(); // guarded by: this
    private boolean hanging; // guarded by: this
    private volatile CompletableFuture<Void> firstHeld = new CompletableFuture<>();

    GatedObjectStorage(ObjectStorage delegate) {
        super(delegate);
    }

    /** Holds every later request until {@link #endOutage()}. */
    synchronized void hang() {
        hanging = true;
        firstHeld = new CompletableFuture<>();
    }

    /** Completes when a request was held since the last {@link #hang()}. */
    CompletableFuture<Void> firstHeld() {
        return firstHeld;
    }

    /** Fails the held requests (retriable) and lets later requests through. */
    void endOutage() {
        List<Runnable> fail;
        synchronized (this) {
            hanging = false;
            fail = new ArrayList<>(heldFailures);
            heldFailures.clear();
        }
        fail.forEach(Runnable::run);
    }

    private <T> CompletableFuture<T> gated(Operation op, String key, ByteBuf owned, Supplier<CompletableFuture<T>> call) {
        CompletableFuture<T> held = new CompletableFuture<>();
        synchronized (this) {
            if (!hanging) {
                return call.get();
            }
            heldFailures.add(() -> {
                if (owned != null) {
                    owned.release();
                }
                held.completeExceptionally(ObjectStorageException.of(ObjectStorageException.Kind.TRANSIENT, op, key, 503,
                        "test outage", null));
            });
        }
        firstHeld.complete(null);
        return held;
    }

    @Override
    public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
        return gated(Operation.PUT, key, data, () -> delegate.put(key, data, condition));
    }

    @Override
    public ObjectUpload startUpload(String key, PutCondition condition) {
        ObjectUpload upload = delegate.startUpload(key, condition);
        return new ForwardingObjectUpload(upload) {
            @Override
            public CompletableFuture<Void> write(ByteBuf data) {
                return gated(Operation.PUT, key, data, () -> upload.write(data));
            }

            @Override
            public CompletableFuture<ObjectInfo> complete() {
                return gated(Operation.PUT, key, null, upload::complete);
            }

            @Override
            public CompletableFuture<Void> abort() {
                return upload.abort(); // never held: an abort must not keep anything alive
            }
        };
    }

    @Override
    public CompletableFuture<ObjectData> get(String key, ByteRange range) {
        return gated(Operation.GET, key, null, () -> delegate.get(key, range));
    }

    @Override
    public CompletableFuture<ObjectInfo> head(String key) {
        return gated(Operation.HEAD, key, null, () -> delegate.head(key));
    }

    @Override
    public CompletableFuture<Void> delete(Collection<String> keys) {
        return gated(Operation.DELETE, null, null, () -> delegate.delete(keys));
    }

    @Override
    public CompletableFuture<List<ObjectInfo>> list(String prefix) {
        return gated(Operation.LIST, prefix, null, () -> delegate.list(prefix));
    }
}
