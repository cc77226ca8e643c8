package dev.strata.kafka;

import org.apache.kafka.common.protocol.Errors;

/**
 * An offset lies outside what the log allows for the operation: a read below the log start offset
 * or above the log end offset, or a deleteRecords beyond the high watermark. Answered with
 * {@link Errors#OFFSET_OUT_OF_RANGE}.
 */
public class LogOffsetOutOfRangeException extends KafkaLogException {
    private static final long serialVersionUID = 1L;

    private final long offset;
    private final long logStartOffset;
    private final long logEndOffset;

    public LogOffsetOutOfRangeException(String what, long offset, long logStartOffset, long logEndOffset) {
        super(what + ": offset=" + offset + " logStartOffset=" + logStartOffset + " logEndOffset=" + logEndOffset);
        this.offset = offset;
        this.logStartOffset = logStartOffset;
        this.logEndOffset = logEndOffset;
    }

    /** The offending offset. */
    public long offset() {
        return offset;
    }

    public long logStartOffset() {
        return logStartOffset;
    }

    public long logEndOffset() {
        return logEndOffset;
    }

    @Override
    public Errors error() {
        return Errors.OFFSET_OUT_OF_RANGE;
    }
}
