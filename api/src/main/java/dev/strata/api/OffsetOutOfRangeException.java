package dev.strata.api;

/**
 * An offset lies outside the readable range {@code [startOffset, nextOffset]} of a stream: a fetch
 * below the start offset (trimmed data) or above the end, or a trim beyond the end.
 */
public class OffsetOutOfRangeException extends StrataException {
    private static final long serialVersionUID = 1L;

    private final long streamId;
    private final long offset;
    private final long startOffset;
    private final long nextOffset;

    public OffsetOutOfRangeException(long streamId, long offset, long startOffset, long nextOffset) {
        super("offset out of range: streamId=" + streamId + " offset=" + offset
                + " startOffset=" + startOffset + " nextOffset=" + nextOffset);
        this.streamId = streamId;
        this.offset = offset;
        this.startOffset = startOffset;
        this.nextOffset = nextOffset;
    }

    public long streamId() {
        return streamId;
    }

    /** The offending offset. */
    public long offset() {
        return offset;
    }

    /** The stream's start offset when the request was checked. */
    public long startOffset() {
        return startOffset;
    }

    /** The stream's next offset (end, exclusive) when the request was checked. */
    public long nextOffset() {
        return nextOffset;
    }
}
