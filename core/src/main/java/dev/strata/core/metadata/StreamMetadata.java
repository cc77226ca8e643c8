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
 * @param encryptedFromOffset the offset from which every batch of the stream is encrypted
 *     (client-side encryption: 0 for a stream created encrypted, the end of the stream when a store
 *     that encrypts its tenant first opened it), or -1 if it is not encrypted; once set never
 *     changes. A stored batch at or above it without the encrypted bit is refused as corrupt.
 */
public record StreamMetadata(long streamId, long epoch, long startOffset, long committedEndOffset,
        long epochStartOffset, StreamLabels labels, long encryptedFromOffset) {

    /** {@link #encryptedFromOffset} of a stream that is not encrypted. */
    public static final long NOT_ENCRYPTED = -1;

    public StreamMetadata {
        if (labels == null) {
            throw new IllegalArgumentException("labels must not be null (use StreamLabels.NONE)");
        }
        if (encryptedFromOffset < NOT_ENCRYPTED) {
            throw new IllegalArgumentException("encryptedFromOffset must be >= -1, got " + encryptedFromOffset);
        }
    }

    /** A stream that is not encrypted. */
    public StreamMetadata(long streamId, long epoch, long startOffset, long committedEndOffset, long epochStartOffset,
            StreamLabels labels) {
        this(streamId, epoch, startOffset, committedEndOffset, epochStartOffset, labels, NOT_ENCRYPTED);
    }

    /** Whether the stream's batches from {@link #encryptedFromOffset} on are encrypted. */
    public boolean isEncrypted() {
        return encryptedFromOffset >= 0;
    }

    /** A stream without tenant or tags. */
    public StreamMetadata(long streamId, long epoch, long startOffset, long committedEndOffset, long epochStartOffset) {
        this(streamId, epoch, startOffset, committedEndOffset, epochStartOffset, StreamLabels.NONE);
    }

    /** A stream no older epoch can have written to ({@code epochStartOffset} 0), without tenant or tags. */
    public StreamMetadata(long streamId, long epoch, long startOffset, long committedEndOffset) {
        this(streamId, epoch, startOffset, committedEndOffset, 0);
    }

    /** A copy with other offsets and the same epoch data, labels and encryption. */
    StreamMetadata withOffsets(long newStartOffset, long newCommittedEndOffset) {
        return new StreamMetadata(streamId, epoch, newStartOffset, newCommittedEndOffset, epochStartOffset, labels,
                encryptedFromOffset);
    }
}
