package dev.strata.testkit;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Waiting on futures in tests: bounded, and failures unwrapped to the cause the API documents. */
public final class Futures {
    /** Generous bound: a future not done by then is a hang, reported as a test failure. */
    public static final long TIMEOUT_SECONDS = 60;

    private Futures() {
    }

    /**
     * The future's value; a failure is rethrown as its cause (unwrapping {@link ExecutionException}
     * and {@link CompletionException}), a hang as {@link AssertionError}.
     */
    public static <T> T await(CompletableFuture<T> future) {
        try {
            return future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw rethrow(unwrap(e));
        } catch (TimeoutException e) {
            throw new AssertionError("future not completed within " + TIMEOUT_SECONDS + " s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** The cause a failed future carries, with wrapper exceptions removed. */
    public static Throwable unwrap(Throwable t) {
        Throwable cur = t;
        while ((cur instanceof ExecutionException || cur instanceof CompletionException) && cur.getCause() != null) {
            cur = cur.getCause();
        }
        return cur;
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new CompletionException(t);
    }
}
