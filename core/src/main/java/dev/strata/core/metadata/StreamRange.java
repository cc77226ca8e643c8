package dev.strata.core.metadata;

/**
 * The offsets {@code [startOffset, endOffset)} of one stream held by one object, and how many bytes
 * of the object they take.
 *
 * @param streamId the stream
 * @param startOffset first offset held (inclusive)
 * @param endOffset end offset (exclusive), greater than {@code startOffset}
 * @param sizeBytes bytes of the object's data blocks holding the range (what reading all of it costs,
 *     and what the range weighs in storage accounting); {@code >= 0}
 */
public record StreamRange(long streamId, long startOffset, long endOffset, long sizeBytes) {
    public StreamRange {
        if (startOffset < 0 || endOffset <= startOffset) {
            throw new IllegalArgumentException("invalid stream range: streamId=" + streamId
                    + " startOffset=" + startOffset + " endOffset=" + endOffset);
        }
        if (sizeBytes < 0) {
            throw new IllegalArgumentException("sizeBytes must be >= 0: streamId=" + streamId + " sizeBytes=" + sizeBytes);
        }
    }

    public boolean contains(long offset) {
        return offset >= startOffset && offset < endOffset;
    }

    /** Number of offsets in the range. */
    public long offsetCount() {
        return endOffset - startOffset;
    }
}
