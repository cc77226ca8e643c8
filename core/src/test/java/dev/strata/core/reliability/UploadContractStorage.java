package dev.strata.core.reliability;

import dev.strata.objectstore.ForwardingObjectStorage;
import dev.strata.objectstore.ForwardingObjectUpload;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.PutCondition;
import io.netty.buffer.ByteBuf;
import java.util.concurrent.CompletableFuture;

/**
 * Enforces the {@link ObjectUpload} contract ("after a failure of this or an earlier write the
 * upload is aborted and every later call fails with the same exception") on top of a storage that
 * does not: {@code FaultInjectingObjectStorage} fails one injected part write but lets later writes
 * and {@code complete()} through, which makes objects with a missing part that S3 and the local
 * directory never produce (reported with this campaign; see RELIABILITY.md). Thread-safe as far as
 * the contract requires (one producer per upload).
 */
final class UploadContractStorage extends ForwardingObjectStorage {

    UploadContractStorage(ObjectStorage delegate) {
        super(delegate);
    }

    @Override
    public ObjectUpload startUpload(String key, PutCondition condition) {
        ObjectUpload inner = delegate.startUpload(key, condition);
        return new ForwardingObjectUpload(inner) {
            private volatile Throwable failure;

            private <T> CompletableFuture<T> track(CompletableFuture<T> f) {
                return f.whenComplete((v, e) -> {
                    if (e != null && failure == null) {
                        failure = dev.strata.testkit.Futures.unwrap(e);
                        inner.abort();
                    }
                });
            }

            @Override
            public CompletableFuture<Void> write(ByteBuf data) {
                Throwable f = failure;
                if (f != null) {
                    data.release();
                    return CompletableFuture.failedFuture(f);
                }
                return track(inner.write(data));
            }

            @Override
            public CompletableFuture<ObjectInfo> complete() {
                Throwable f = failure;
                if (f != null) {
                    return CompletableFuture.failedFuture(f);
                }
                return track(inner.complete());
            }
        };
    }
}
