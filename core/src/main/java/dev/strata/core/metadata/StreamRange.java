package dev.strata.core.metadata;

/**
 * The offsets {@code [startOffset, endOffset)} of one stream held by one object.
 *
 * @param streamId the stream
 * @param startOffset first offset held (inclusive)
 * @param endOffset end offset (exclusive), greater than {@code startOffset}
 */
public record StreamRange(long streamId, long startOffset, long endOffset) {
    public StreamRange {
        if (startOffset < 0 || endOffset <= startOffset) {
            throw new IllegalArgumentException("invalid stream range: streamId=" + streamId
                    + " startOffset=" + startOffset + " endOffset=" + endOffset);
        }
    }

    public boolean contains(long offset) {
        return offset >= startOffset && offset < endOffset;
    }
}
