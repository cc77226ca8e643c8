package dev.strata.core.metadata;

import java.util.List;

/**
 * A committed object: its key in the object store, size, type and the stream ranges it holds
 * (sorted by stream id, then start offset; at most one range per stream).
 *
 * @param key the object's key, relative to the store's root
 * @param sizeBytes the object's size
 * @param type stream-set or stream object
 * @param ranges the stream ranges, non-empty; a {@link ObjectType#STREAM} object has exactly one
 */
public record ObjectMetadata(String key, long sizeBytes, ObjectType type, List<StreamRange> ranges) {
    public ObjectMetadata {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("object key must not be empty");
        }
        if (sizeBytes < 0) {
            throw new IllegalArgumentException("sizeBytes must be >= 0, got " + sizeBytes + " key=" + key);
        }
        if (type == null) {
            throw new IllegalArgumentException("type must not be null, key=" + key);
        }
        ranges = List.copyOf(ranges);
        if (ranges.isEmpty()) {
            throw new IllegalArgumentException("an object holds at least one stream range, key=" + key);
        }
        if (type == ObjectType.STREAM && ranges.size() != 1) {
            throw new IllegalArgumentException("a stream object holds exactly one range, key=" + key + " ranges=" + ranges);
        }
        for (int i = 1; i < ranges.size(); i++) {
            if (ranges.get(i - 1).streamId() >= ranges.get(i).streamId()) {
                throw new IllegalArgumentException("ranges must be sorted by stream id, one per stream: key=" + key
                        + " ranges=" + ranges);
            }
        }
    }
}
