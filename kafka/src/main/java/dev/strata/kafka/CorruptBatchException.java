package dev.strata.kafka;

import org.apache.kafka.common.protocol.Errors;

/**
 * A produced batch's bytes are damaged: its CRC does not match, or its size or magic field cannot
 * be a record batch. Answered with {@link Errors#CORRUPT_MESSAGE}.
 */
public class CorruptBatchException extends KafkaLogException {
    private static final long serialVersionUID = 1L;

    public CorruptBatchException(String message) {
        super(message);
    }

    public CorruptBatchException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public Errors error() {
        return Errors.CORRUPT_MESSAGE;
    }
}
