package dev.strata.objectstore.testing;

import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectUpload;
import io.netty.buffer.ByteBuf;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * An upload a test storage refuses outright: every write releases its buffer and fails, completion
 * fails, abort succeeds, nothing reaches a store. Each failure is a new exception from the supplier.
 * Thread-safe.
 */
public final class RefusedObjectUpload implements ObjectUpload {
    private final String key;
    private final Supplier<? extends Throwable> failure;

    public RefusedObjectUpload(String key, Supplier<? extends Throwable> failure) {
        this.key = key;
        this.failure = failure;
    }

    @Override
    public String key() {
        return key;
    }

    @Override
    public CompletableFuture<Void> write(ByteBuf data) {
        data.release();
        return CompletableFuture.failedFuture(failure.get());
    }

    @Override
    public long bytesWritten() {
        return 0;
    }

    @Override
    public CompletableFuture<ObjectInfo> complete() {
        return CompletableFuture.failedFuture(failure.get());
    }

    @Override
    public CompletableFuture<Void> abort() {
        return CompletableFuture.completedFuture(null);
    }
}
