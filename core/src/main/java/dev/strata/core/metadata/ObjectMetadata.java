package dev.strata.core.metadata;

import java.util.List;

/**
 * A committed object: its key in the object store, size, type, the stream ranges it holds (sorted
 * by stream id; at most one range per stream) and the age of its data.
 *
 * @param key the object's key, relative to the store's root
 * @param sizeBytes the object's size
 * @param type stream-set or stream object
 * @param ranges the stream ranges, non-empty; a {@link ObjectType#STREAM} object has exactly one
 * @param dataTimeMillis when the oldest data in the object was uploaded (epoch milliseconds): the
 *     upload time for an uploaded object, the oldest input's for a compacted one. Compaction uses it
 *     to split old data out of stream-set objects.
 * @param dataKeyIds the ids of the data keys (client-side encryption) its encrypted batches are
 *     sealed under (empty: none), recorded by stores with encryption; null if unknown (written by a
 *     store without encryption, or before objects recorded them, manifest format 5). Key-record
 *     garbage collection keeps every key a live object names, and every key of a tenant one of whose
 *     streams is held by an object with unknown keys.
 */
public record ObjectMetadata(String key, long sizeBytes, ObjectType type, List<StreamRange> ranges,
        long dataTimeMillis, java.util.Set<Long> dataKeyIds) {

    /** An object whose data keys are unknown (a store without encryption). */
    public ObjectMetadata(String key, long sizeBytes, ObjectType type, List<StreamRange> ranges, long dataTimeMillis) {
        this(key, sizeBytes, type, ranges, dataTimeMillis, null);
    }

    public ObjectMetadata {
        dataKeyIds = dataKeyIds == null ? null : java.util.Collections.unmodifiableSet(new java.util.TreeSet<>(dataKeyIds));
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

    /** The range of {@code streamId} this object holds, or null. */
    public StreamRange range(long streamId) {
        for (StreamRange r : ranges) {
            if (r.streamId() == streamId) {
                return r;
            }
        }
        return null;
    }
}
