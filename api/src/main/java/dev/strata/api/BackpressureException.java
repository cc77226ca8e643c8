package dev.strata.api;

/**
 * A bounded resource (WAL space, cache bytes, in-flight upload or read bytes) stayed full for
 * longer than the configured wait. Nothing was written. Retriable: try again later, ideally with
 * backoff.
 */
public class BackpressureException extends StrataException {
    private static final long serialVersionUID = 1L;

    public BackpressureException(String message) {
        super(message);
    }

    public BackpressureException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public boolean isRetriable() {
        return true;
    }
}
