package dev.strata.wal.objectstore;

import dev.strata.api.StorageException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Blocking waits and unwrapping of future failures, for the blocking parts (open, recovery). */
final class Await {
    private Await() {
    }

    /** Waits for {@code f}; a failure is rethrown as its cause when that is unchecked. */
    static <T> T join(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            Throwable cause = unwrap(e);
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new StorageException("object-store WAL operation failed: " + cause, false, cause);
        }
    }

    /** The failure inside {@link CompletionException} / {@link ExecutionException} wrappers. */
    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
