package dev.strata.objectstore.format;

import java.util.List;

/**
 * An object {@link ObjectWriter} completed: its key, size and ETag, its index (cache it, it is what
 * a reader would fetch), and the stream ranges it holds (what the manifest records).
 */
public record WrittenObject(String key, long size, String etag, ObjectIndex index) {

    /** {@code index().streamRanges()}. */
    public List<StreamRange> streamRanges() {
        return index.streamRanges();
    }
}
