package dev.strata.core.support;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Unwrapping of future failures, so that callers see the typed cause the API promises. Stateless. */
public final class Futures {

    private Futures() {
    }

    /** The cause under any {@link CompletionException} or {@link ExecutionException} wrappers. */
    public static Throwable unwrap(Throwable t) {
        Throwable cur = t;
        while ((cur instanceof CompletionException || cur instanceof ExecutionException) && cur.getCause() != null) {
            cur = cur.getCause();
        }
        return cur;
    }

    /** Makes a future fail with the unwrapped typed cause, as the API promises. */
    public static <T> CompletableFuture<T> unwrapping(CompletableFuture<T> future) {
        CompletableFuture<T> out = new CompletableFuture<>();
        future.whenComplete((v, e) -> {
            if (e == null) {
                out.complete(v);
            } else {
                out.completeExceptionally(unwrap(e));
            }
        });
        return out;
    }
}
