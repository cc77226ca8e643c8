package dev.strata.kafka;

import org.apache.kafka.common.protocol.Errors;

/**
 * Batches given to {@link KafkaPartitionLog#appendWithOffsets} do not fit after the log: the first
 * batch starts below the log end offset (an overlap or a gap backwards), or a batch in the call does
 * not start after the one before it. Nothing of the call is stored.
 *
 * <p>Answered with {@link Errors#UNKNOWN_SERVER_ERROR}: that is what Kafka's broker answers for its
 * own {@code UnexpectedAppendOffsetException} and {@code OffsetsOutOfOrderException}, which
 * {@code UnifiedLog.appendAsFollower} throws in these cases ({@code Errors.forException} knows
 * neither). Not retriable: the caller must re-read the log end offset and resend from there.
 */
public class UnexpectedAppendOffsetException extends KafkaLogException {
    private static final long serialVersionUID = 1L;

    private final long firstOffset;
    private final long lastOffset;
    private final long expectedAtLeast;

    /**
     * @param firstOffset the base offset of the batch that does not fit
     * @param lastOffset the last offset of that batch
     * @param expectedAtLeast the smallest base offset it could have had (the log end offset, or the
     *     previous batch's last offset + 1)
     */
    public UnexpectedAppendOffsetException(String what, long firstOffset, long lastOffset, long expectedAtLeast) {
        super(what + ": firstOffset=" + firstOffset + " lastOffset=" + lastOffset + " expected at least " + expectedAtLeast);
        this.firstOffset = firstOffset;
        this.lastOffset = lastOffset;
        this.expectedAtLeast = expectedAtLeast;
    }

    /** The base offset of the batch that does not fit. */
    public long firstOffset() {
        return firstOffset;
    }

    /** The last offset of the batch that does not fit. */
    public long lastOffset() {
        return lastOffset;
    }

    /** The smallest base offset the batch could have had. */
    public long expectedAtLeast() {
        return expectedAtLeast;
    }

    @Override
    public Errors error() {
        return Errors.UNKNOWN_SERVER_ERROR;
    }
}
