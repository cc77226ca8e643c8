package dev.strata.api;

/**
 * Root of every failure Strata reports. Unchecked; delivered as the cause of a failed
 * {@link java.util.concurrent.CompletableFuture} (never wrapped in more than that future's own
 * {@link java.util.concurrent.CompletionException}).
 *
 * <p>Subclasses are typed by what the caller should do: retry later
 * ({@link BackpressureException}, a retriable {@link StorageException}), fix the request
 * ({@link OffsetOutOfRangeException}, {@link RecordTooLargeException}), give up ownership
 * ({@link StreamFencedException}), re-open ({@link StreamClosedException}) or investigate
 * ({@link CorruptDataException}).
 */
public class StrataException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public StrataException(String message) {
        super(message);
    }

    public StrataException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * Whether the same operation may succeed if retried later without any other change.
     * {@code false} unless a subclass says otherwise.
     */
    public boolean isRetriable() {
        return false;
    }
}
