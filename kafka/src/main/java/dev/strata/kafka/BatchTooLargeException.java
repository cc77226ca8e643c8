package dev.strata.kafka;

import org.apache.kafka.common.protocol.Errors;

/**
 * A produced batch is larger than the partition accepts ({@code maxMessageBytes}, or the store's
 * own batch limit). Answered with {@link Errors#MESSAGE_TOO_LARGE}, as Kafka does for a batch above
 * {@code max.message.bytes}.
 */
public class BatchTooLargeException extends KafkaLogException {
    private static final long serialVersionUID = 1L;

    private final long sizeBytes;
    private final long maxBytes;

    public BatchTooLargeException(String message, long sizeBytes, long maxBytes, Throwable cause) {
        super(message + ": sizeBytes=" + sizeBytes + " maxBytes=" + maxBytes, cause);
        this.sizeBytes = sizeBytes;
        this.maxBytes = maxBytes;
    }

    public long sizeBytes() {
        return sizeBytes;
    }

    public long maxBytes() {
        return maxBytes;
    }

    @Override
    public Errors error() {
        return Errors.MESSAGE_TOO_LARGE;
    }
}
