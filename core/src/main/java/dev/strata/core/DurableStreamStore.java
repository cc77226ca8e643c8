package dev.strata.core;

import dev.strata.api.StreamStore;
import java.util.concurrent.CompletableFuture;

/**
 * The {@link StreamStore} that {@link Strata#builder()} builds, with the engine's extra operations.
 * Thread-safe, like every {@link StreamStore}.
 */
public interface DurableStreamStore extends StreamStore {

    /** What opening the store replayed from the WAL. */
    StoreRecoveryReport recoveryReport();

    /**
     * Uploads everything acknowledged so far to object storage and commits it, now (instead of at the
     * next size or age trigger). Completes when committed; fails with
     * {@link dev.strata.api.StorageException} if the object store fails (the data stays in the WAL and
     * background uploads retry) or {@link dev.strata.api.StreamFencedException} if a newer process
     * took over.
     */
    CompletableFuture<Void> flush();
}
