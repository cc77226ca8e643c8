package dev.strata.kafka;

import org.apache.kafka.common.protocol.Errors;

/**
 * An idempotent producer's batch does not continue its sequence: its first sequence is not the
 * last appended sequence + 1 (and it is not a retry of one of the producer's last five batches), or
 * a new producer epoch starts at a sequence other than 0. Nothing was appended. Answered with
 * {@link Errors#OUT_OF_ORDER_SEQUENCE_NUMBER}, as Kafka's {@code ProducerAppendInfo} does.
 */
public class OutOfOrderSequenceException extends KafkaLogException {
    private static final long serialVersionUID = 1L;

    public OutOfOrderSequenceException(String message) {
        super(message);
    }

    @Override
    public Errors error() {
        return Errors.OUT_OF_ORDER_SEQUENCE_NUMBER;
    }
}
