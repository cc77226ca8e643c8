package dev.strata.kafka;

import org.apache.kafka.common.protocol.Errors;

/**
 * A transaction marker carries a coordinator epoch older than the one of the last marker this log
 * took for the same producer (a zombie coordinator). Nothing was appended. Answered with
 * {@link Errors#TRANSACTION_COORDINATOR_FENCED}, as Kafka's {@code ProducerAppendInfo} does.
 */
public class TransactionCoordinatorFencedException extends KafkaLogException {
    private static final long serialVersionUID = 1L;

    public TransactionCoordinatorFencedException(String message) {
        super(message);
    }

    @Override
    public Errors error() {
        return Errors.TRANSACTION_COORDINATOR_FENCED;
    }
}
