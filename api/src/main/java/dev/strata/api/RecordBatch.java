package dev.strata.api;

import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * A batch of {@code count} records with an opaque payload, appended as a unit. The store assigns
 * it the offsets {@code [base, base + count)}.
 *
 * <p>Immutable and thread-safe as far as this object goes: it keeps a read-only view of the
 * caller's buffer (from its position to its limit at the time of the call), not a copy. The
 * caller must not change those bytes until the append that takes this batch has completed.
 */
public final class RecordBatch {
    private final int count;
    private final long baseTimestamp;
    private final ByteBuffer payload;

    private RecordBatch(int count, long baseTimestamp, ByteBuffer payload) {
        this.count = count;
        this.baseTimestamp = baseTimestamp;
        this.payload = payload;
    }

    /**
     * A batch with base timestamp {@code 0}.
     *
     * @throws IllegalArgumentException if {@code count < 1} or {@code payload} is null
     */
    public static RecordBatch of(int count, ByteBuffer payload) {
        return of(count, 0L, payload);
    }

    /**
     * A batch of {@code count} records carrying {@code payload} (its remaining bytes).
     *
     * @param count number of records in the batch, at least 1; the batch takes that many offsets
     * @param baseTimestamp a caller-defined timestamp stored with the batch and returned by fetch
     * @param payload the batch's bytes from position to limit; viewed, not copied
     * @throws IllegalArgumentException if {@code count < 1} or {@code payload} is null
     */
    public static RecordBatch of(int count, long baseTimestamp, ByteBuffer payload) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be >= 1, got " + count);
        }
        if (payload == null) {
            throw new IllegalArgumentException("payload must not be null");
        }
        return new RecordBatch(count, baseTimestamp, payload.slice().asReadOnlyBuffer());
    }

    /** Number of records (offsets) in this batch, at least 1. */
    public int count() {
        return count;
    }

    public long baseTimestamp() {
        return baseTimestamp;
    }

    /** A new read-only view of the payload, positioned at 0; independent of other views. */
    public ByteBuffer payload() {
        return payload.duplicate();
    }

    /** Payload size in bytes. */
    public int sizeBytes() {
        return payload.remaining();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RecordBatch other
                && count == other.count
                && baseTimestamp == other.baseTimestamp
                && payload.equals(other.payload);
    }

    @Override
    public int hashCode() {
        return Objects.hash(count, baseTimestamp, payload);
    }

    @Override
    public String toString() {
        return "RecordBatch[count=" + count + ", baseTimestamp=" + baseTimestamp + ", sizeBytes=" + sizeBytes() + "]";
    }
}
