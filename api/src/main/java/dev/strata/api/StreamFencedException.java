package dev.strata.api;

/**
 * The caller no longer owns the stream (or the store no longer owns its storage): another holder
 * opened it with a higher epoch, the caller asked for an epoch lower than the stored one, or
 * another process took over the store. Nothing the fenced holder writes after fencing becomes
 * visible. Not retriable: the holder must give the stream up.
 */
public class StreamFencedException extends StrataException {
    private static final long serialVersionUID = 1L;

    public StreamFencedException(String message) {
        super(message);
    }

    public StreamFencedException(String message, Throwable cause) {
        super(message, cause);
    }
}
