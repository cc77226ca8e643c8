package dev.strata.api;

/** A batch is larger than the store can ever accept. Retrying the same batch cannot succeed. */
public class RecordTooLargeException extends StrataException {
    private static final long serialVersionUID = 1L;

    private final long sizeBytes;
    private final long maxBytes;

    public RecordTooLargeException(long sizeBytes, long maxBytes) {
        super("record batch too large: sizeBytes=" + sizeBytes + " maxBytes=" + maxBytes);
        this.sizeBytes = sizeBytes;
        this.maxBytes = maxBytes;
    }

    public long sizeBytes() {
        return sizeBytes;
    }

    public long maxBytes() {
        return maxBytes;
    }
}
