package dev.strata.core.metadata;

import dev.strata.api.StreamLabels;

/**
 * What the metadata says about one stream.
 *
 * @param streamId the stream's id
 * @param epoch the highest epoch the stream was opened (or created) with
 * @param startOffset first readable offset (moved by trim)
 * @param committedEndOffset end (exclusive) of the data committed to objects; data above it lives
 *     only in the WAL of the node that appended it
 * @param epochStartOffset the offset from which {@code epoch} owns the stream: data of an older
 *     epoch at or above it was written by a fenced holder after it lost the stream, and must never
 *     become visible (WAL replay drops it)
 * @param labels the stream's tenant and tags, set at creation, never changed
 */
public record StreamMetadata(long streamId, long epoch, long startOffset, long committedEndOffset,
        long epochStartOffset, StreamLabels labels) {

    public StreamMetadata {
        if (labels == null) {
            throw new IllegalArgumentException("labels must not be null (use StreamLabels.NONE)");
        }
    }

    /** A stream without tenant or tags. */
    public StreamMetadata(long streamId, long epoch, long startOffset, long committedEndOffset, long epochStartOffset) {
        this(streamId, epoch, startOffset, committedEndOffset, epochStartOffset, StreamLabels.NONE);
    }

    /** A stream no older epoch can have written to ({@code epochStartOffset} 0), without tenant or tags. */
    public StreamMetadata(long streamId, long epoch, long startOffset, long committedEndOffset) {
        this(streamId, epoch, startOffset, committedEndOffset, 0);
    }

    /** A copy with other offsets and the same epoch data and labels. */
    StreamMetadata withOffsets(long newStartOffset, long newCommittedEndOffset) {
        return new StreamMetadata(streamId, epoch, newStartOffset, newCommittedEndOffset, epochStartOffset, labels);
    }
}
