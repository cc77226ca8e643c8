package dev.strata.kafka.migrate;

/**
 * A migration could not be done or continued: the Kafka partition directory cannot be read, or the
 * target log does not fit it (for example its log end offset lies inside a source batch, or beyond
 * the source's end). The message names the directory, offsets and batch involved.
 */
public class MigrationException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public MigrationException(String message) {
        super(message);
    }

    public MigrationException(String message, Throwable cause) {
        super(message, cause);
    }
}
