package dev.strata.api;

/**
 * The stream handle (or the whole store) was closed, or the stream refuses appends after an
 * earlier append failed. Re-open the stream to continue.
 */
public class StreamClosedException extends StrataException {
    private static final long serialVersionUID = 1L;

    public StreamClosedException(String message) {
        super(message);
    }

    public StreamClosedException(String message, Throwable cause) {
        super(message, cause);
    }
}
