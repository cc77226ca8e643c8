package dev.strata.kafka;

import org.apache.kafka.common.protocol.Errors;

/**
 * A producer with an ongoing transaction sent a batch that is not transactional. Nothing was
 * appended. Answered with {@link Errors#INVALID_TXN_STATE}, as Kafka's {@code ProducerAppendInfo} does.
 */
public class InvalidTxnStateException extends KafkaLogException {
    private static final long serialVersionUID = 1L;

    public InvalidTxnStateException(String message) {
        super(message);
    }

    @Override
    public Errors error() {
        return Errors.INVALID_TXN_STATE;
    }
}
