package dev.strata.objectstore.format;

/**
 * A stream's contiguous offsets {@code [startOffset, endOffset)} in one object, with the number of
 * blocks and their total bytes: what the manifest records per object, and what
 * {@link ObjectIndex#streamRanges()} rebuilds from the object alone.
 */
public record StreamRange(long streamId, long startOffset, long endOffset, int blockCount, long bytes) {
}
