package dev.strata.core;

import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ForwardingObjectUpload;
import dev.strata.objectstore.IncompleteUpload;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.ObjectStorageMetrics;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.PutCondition;
import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The object storage as {@link Strata.Builder#build()} uses it: until {@link #disarm()}, a request
 * that has not completed {@link Strata.Builder#objectStoreOpenTimeout} after it was made fails with
 * a retriable {@link ObjectStorageException} ({@code TRANSIENT}) naming the setting, so that an
 * object store that does not answer (an outage: the storage keeps retrying, or never answers) makes
 * {@code build()} fail after about that long instead of after the storage's own retry budget. The
 * bound is per request, not on the whole open: replaying a large WAL to a healthy store may take
 * longer. Once disarmed (the store serves), requests pass through unchanged.
 *
 * <p>A request cut off by the deadline goes on in the delegate; what it yields later (a read's
 * buffer) is released. Thread-safe.
 */
final class OpenDeadlineStorage implements ObjectStorage {
    private final ObjectStorage delegate;
    private final Duration timeout;
    private volatile boolean disarmed;

    OpenDeadlineStorage(ObjectStorage delegate, Duration timeout) {
        this.delegate = delegate;
        this.timeout = timeout;
    }

    /** From now on requests pass through unbounded (the store serves; uploads retry on their own). */
    void disarm() {
        disarmed = true;
    }

    private <T> CompletableFuture<T> bound(Operation op, String key, CompletableFuture<T> f, Consumer<T> release) {
        if (disarmed || f.isDone()) {
            return f;
        }
        CompletableFuture<T> out = new CompletableFuture<>();
        f.whenComplete((v, e) -> {
            if (e != null) {
                out.completeExceptionally(e);
            } else if (!out.complete(v) && v != null) {
                release.accept(v); // cut off by the deadline: nobody takes it
            }
        });
        CompletableFuture.delayedExecutor(timeout.toNanos(), TimeUnit.NANOSECONDS).execute(() -> out.completeExceptionally(
                ObjectStorageException.of(ObjectStorageException.Kind.TRANSIENT, op, key, 0,
                        "object store did not answer a request while opening the store within objectStoreOpenTimeout="
                                + timeout.toMillis() + "ms", null)));
        return out;
    }

    @Override
    public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
        return bound(Operation.PUT, key, delegate.put(key, data, condition), v -> { });
    }

    @Override
    public ObjectUpload startUpload(String key, PutCondition condition) {
        ObjectUpload upload = delegate.startUpload(key, condition);
        if (disarmed) {
            return upload;
        }
        return new ForwardingObjectUpload(upload) {
            @Override
            public CompletableFuture<Void> write(ByteBuf data) {
                return bound(Operation.PUT, key, upload.write(data), v -> { });
            }

            @Override
            public CompletableFuture<ObjectInfo> complete() {
                return bound(Operation.PUT, key, upload.complete(), v -> { });
            }
        };
    }

    @Override
    public CompletableFuture<ObjectData> get(String key, ByteRange range) {
        return bound(Operation.GET, key, delegate.get(key, range), ObjectData::release);
    }

    @Override
    public CompletableFuture<ObjectInfo> head(String key) {
        return bound(Operation.HEAD, key, delegate.head(key), v -> { });
    }

    @Override
    public CompletableFuture<Void> delete(Collection<String> keys) {
        return bound(Operation.DELETE, null, delegate.delete(keys), v -> { });
    }

    @Override
    public CompletableFuture<List<ObjectInfo>> list(String prefix) {
        return bound(Operation.LIST, prefix, delegate.list(prefix), v -> { });
    }

    @Override
    public CompletableFuture<List<IncompleteUpload>> listIncompleteUploads() {
        return bound(Operation.LIST, null, delegate.listIncompleteUploads(), v -> { });
    }

    @Override
    public CompletableFuture<Void> abortIncompleteUploads(Collection<IncompleteUpload> uploads) {
        return bound(Operation.DELETE, null, delegate.abortIncompleteUploads(uploads), v -> { });
    }

    @Override
    public ObjectStorageMetrics metrics() {
        return delegate.metrics();
    }

    /** Closes the delegate (the store closes the storage it owns directly, never through this). */
    @Override
    public void close() {
        delegate.close();
    }

    @Override
    public String toString() {
        return delegate.toString();
    }
}
