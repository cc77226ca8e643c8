package dev.strata.kafka;

import java.util.List;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ProduceResponse.RecordError;

/**
 * Records of a produced batch carry timestamps the partition refuses: with {@code CreateTime},
 * outside {@code [now - messageTimestampBeforeMaxMs, now + messageTimestampAfterMaxMs]}; or the
 * producer set the {@code LogAppendTime} attribute itself. Answered with
 * {@link Errors#INVALID_TIMESTAMP}; {@link #recordErrors()} lists the records at fault.
 */
public class InvalidBatchTimestampException extends KafkaLogException {
    private static final long serialVersionUID = 1L;

    private final transient List<RecordError> recordErrors;

    public InvalidBatchTimestampException(String message, List<RecordError> recordErrors) {
        super(message);
        this.recordErrors = List.copyOf(recordErrors);
    }

    /** The records at fault (index in the batch and message). */
    public List<RecordError> recordErrors() {
        return recordErrors;
    }

    @Override
    public Errors error() {
        return Errors.INVALID_TIMESTAMP;
    }
}
