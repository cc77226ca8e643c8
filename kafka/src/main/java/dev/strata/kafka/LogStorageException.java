package dev.strata.kafka;

import dev.strata.api.BackpressureException;
import dev.strata.api.StreamFencedException;
import org.apache.kafka.common.protocol.Errors;

/**
 * The underlying stream failed the operation (its cause is the {@link dev.strata.api.StrataException}).
 * The code follows what the client should do: {@link Errors#NOT_LEADER_OR_FOLLOWER} when another
 * holder fenced the stream (this log is no longer the partition's leader), {@link Errors#REQUEST_TIMED_OUT}
 * on backpressure (retry later), {@link Errors#KAFKA_STORAGE_ERROR} otherwise (also retriable for
 * clients; the log must be re-opened before it accepts appends again).
 */
public class LogStorageException extends KafkaLogException {
    private static final long serialVersionUID = 1L;

    public LogStorageException(String message, Throwable cause) {
        super(message + ": " + cause, cause);
    }

    @Override
    public Errors error() {
        Throwable cause = getCause();
        if (cause instanceof StreamFencedException) {
            return Errors.NOT_LEADER_OR_FOLLOWER;
        }
        if (cause instanceof BackpressureException) {
            return Errors.REQUEST_TIMED_OUT;
        }
        return Errors.KAFKA_STORAGE_ERROR;
    }
}
