package dev.strata.kafka;

import org.apache.kafka.common.protocol.Errors;

/**
 * An idempotent producer's batch carries a producer epoch older than the newest one this log has
 * seen for its producer id (a fenced, older instance of the producer). Nothing was appended.
 * Answered with {@link Errors#INVALID_PRODUCER_EPOCH}, as Kafka's {@code ProducerAppendInfo} does.
 */
public class InvalidProducerEpochException extends KafkaLogException {
    private static final long serialVersionUID = 1L;

    public InvalidProducerEpochException(String message) {
        super(message);
    }

    @Override
    public Errors error() {
        return Errors.INVALID_PRODUCER_EPOCH;
    }
}
