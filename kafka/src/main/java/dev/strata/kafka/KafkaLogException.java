package dev.strata.kafka;

import dev.strata.api.StrataException;
import org.apache.kafka.common.protocol.Errors;

/**
 * A failure of a {@link KafkaPartitionLog} operation, typed by the Kafka error code a broker must
 * answer with. Subclasses say what went wrong; {@link #error()} gives the code for the response.
 */
public abstract class KafkaLogException extends StrataException {
    private static final long serialVersionUID = 1L;

    protected KafkaLogException(String message) {
        super(message);
    }

    protected KafkaLogException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The Kafka error code that answers the request which failed with this exception. */
    public abstract Errors error();

    /** Whether the client may retry the same request unchanged (Kafka's own view of the code). */
    @Override
    public boolean isRetriable() {
        return error().exception() instanceof org.apache.kafka.common.errors.RetriableException;
    }
}
