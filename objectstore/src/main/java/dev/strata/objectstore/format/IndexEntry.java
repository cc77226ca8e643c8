package dev.strata.objectstore.format;

/**
 * One data block as the object index describes it: the block holds stream {@code streamId}'s
 * records {@code [startOffset, endOffset)} ({@code recordCount} of them) and occupies
 * {@code [position, position + size)} of the object, header included.
 */
public record IndexEntry(long streamId, long startOffset, long endOffset, int recordCount, long position, int size) {

    /** Whether this block holds {@code offset} of {@code streamId}. */
    public boolean contains(long streamId, long offset) {
        return this.streamId == streamId && offset >= startOffset && offset < endOffset;
    }
}
