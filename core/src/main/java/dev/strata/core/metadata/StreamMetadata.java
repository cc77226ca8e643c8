package dev.strata.core.metadata;

/**
 * What the metadata says about one stream.
 *
 * @param streamId the stream's id
 * @param epoch the highest epoch the stream was opened (or created) with
 * @param startOffset first readable offset (moved by trim)
 * @param committedEndOffset end (exclusive) of the data committed to objects; data above it lives
 *     only in the WAL of the node that appended it
 */
public record StreamMetadata(long streamId, long epoch, long startOffset, long committedEndOffset) {
}
