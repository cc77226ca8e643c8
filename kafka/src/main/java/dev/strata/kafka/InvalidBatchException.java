package dev.strata.kafka;

import java.util.List;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ProduceResponse.RecordError;

/**
 * A produced batch is well formed but not acceptable: not exactly one batch, magic other than 2, a
 * base offset other than 0, a record count that disagrees with the offsets, a control batch from a
 * client, or (in this version of the log) a batch from a transactional producer.
 * Answered with {@link Errors#INVALID_RECORD}; {@link #recordErrors()} lists the records at fault
 * when the fault is in individual records (the Produce response's {@code record_errors}).
 */
public class InvalidBatchException extends KafkaLogException {
    private static final long serialVersionUID = 1L;

    private final transient List<RecordError> recordErrors;

    public InvalidBatchException(String message) {
        this(message, List.of(), null);
    }

    public InvalidBatchException(String message, List<RecordError> recordErrors, Throwable cause) {
        super(message, cause);
        this.recordErrors = List.copyOf(recordErrors);
    }

    /** The records at fault (index in the batch and message); empty when the whole batch is. */
    public List<RecordError> recordErrors() {
        return recordErrors;
    }

    @Override
    public Errors error() {
        return Errors.INVALID_RECORD;
    }
}
