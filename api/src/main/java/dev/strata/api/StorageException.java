package dev.strata.api;

/**
 * An I/O or object-store operation failed. {@link #isRetriable()} says whether the same
 * operation may succeed later (timeouts, throttling, 5xx) or not (permission denied, device
 * error after which the WAL fails stop).
 */
public class StorageException extends StrataException {
    private static final long serialVersionUID = 1L;

    private final boolean retriable;

    public StorageException(String message, boolean retriable) {
        super(message);
        this.retriable = retriable;
    }

    public StorageException(String message, boolean retriable, Throwable cause) {
        super(message, cause);
        this.retriable = retriable;
    }

    @Override
    public boolean isRetriable() {
        return retriable;
    }
}
