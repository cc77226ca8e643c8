package dev.strata.api;

/**
 * One stream as {@link StreamStore#listStreams} lists it. Immutable; a snapshot at the time of the
 * call (appends and trims move the offsets afterwards).
 *
 * @param streamId the stream's id
 * @param epoch the stored epoch (the last holder's)
 * @param startOffset the first offset still readable
 * @param endOffset the offset the next acknowledged append gets, as far as the store knows it when
 *     listing (see the implementation: a durable store reports the acknowledged end of streams it
 *     serves)
 * @param labels the stream's tenant and tags
 */
public record StreamInfo(long streamId, long epoch, long startOffset, long endOffset, StreamLabels labels) {
    public StreamInfo {
        if (labels == null) {
            throw new IllegalArgumentException("labels must not be null (use StreamLabels.NONE)");
        }
    }
}
