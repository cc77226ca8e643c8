package dev.strata.api;

/** No stream with this id exists (never created, or deleted). */
public class StreamNotFoundException extends StrataException {
    private static final long serialVersionUID = 1L;

    private final long streamId;

    public StreamNotFoundException(long streamId) {
        super("stream not found: streamId=" + streamId);
        this.streamId = streamId;
    }

    public long streamId() {
        return streamId;
    }
}
