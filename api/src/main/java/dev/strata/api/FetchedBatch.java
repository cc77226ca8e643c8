package dev.strata.api;

import java.nio.ByteBuffer;

/**
 * One batch returned by {@link Stream#fetch}: the batch as appended, at the offsets the store
 * assigned. The payload is a read-only view that stays valid until the {@link FetchResult} it came
 * from is closed.
 *
 * @param baseOffset offset of the first record
 * @param count number of records, at least 1
 * @param baseTimestamp the timestamp given at append
 * @param payload the batch's bytes, read-only
 */
public record FetchedBatch(long baseOffset, int count, long baseTimestamp, ByteBuffer payload) {
    public FetchedBatch {
        if (baseOffset < 0) {
            throw new IllegalArgumentException("baseOffset must be >= 0, got " + baseOffset);
        }
        if (count < 1) {
            throw new IllegalArgumentException("count must be >= 1, got " + count);
        }
        if (payload == null) {
            throw new IllegalArgumentException("payload must not be null");
        }
        payload = payload.asReadOnlyBuffer();
    }

    /** Offset just after this batch: {@code baseOffset + count}. */
    public long nextOffset() {
        return baseOffset + count;
    }

    /** A new read-only view of the payload, positioned at its start. */
    @Override
    public ByteBuffer payload() {
        return payload.duplicate();
    }

    /** Payload size in bytes. */
    public int sizeBytes() {
        return payload.remaining();
    }
}
