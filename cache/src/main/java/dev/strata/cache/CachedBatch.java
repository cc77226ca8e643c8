package dev.strata.cache;

import io.netty.buffer.ByteBuf;

/**
 * One record batch held by the {@link LogCache}: its offsets, its payload size, and the encoded batch
 * as an opaque buffer (the encoding belongs to the object store format).
 *
 * <p>Instances handed out by {@link LogCacheFetch#batches()} own one retained reference to a
 * duplicate of the cached buffer; the fetch releases it on close. Those of
 * {@link SealedBlock#batches()} are the cache's own, kept alive by the sealed block until it is
 * closed: read them without moving their indices. Readers must not write to {@link #data()}.
 *
 * <p>Immutable apart from the buffer's reader index (of a fetched view); safe to pass between threads.
 */
public final class CachedBatch {
    private final long streamId;
    private final long baseOffset;
    private final int count;
    private final int sizeBytes;
    private final ByteBuf data;

    CachedBatch(long streamId, long baseOffset, int count, int sizeBytes, ByteBuf data) {
        this.streamId = streamId;
        this.baseOffset = baseOffset;
        this.count = count;
        this.sizeBytes = sizeBytes;
        this.data = data;
    }

    /** The stream the batch belongs to. */
    public long streamId() {
        return streamId;
    }

    /** Offset of the batch's first record. */
    public long baseOffset() {
        return baseOffset;
    }

    /** Number of records, at least 1. */
    public int count() {
        return count;
    }

    /** Offset just after the batch: {@code baseOffset + count}. */
    public long nextOffset() {
        return baseOffset + count;
    }

    /** Payload bytes, the unit of a fetch's {@code maxBytes}. */
    public int sizeBytes() {
        return sizeBytes;
    }

    /** The encoded batch (opaque bytes); valid until the result it came from is closed. */
    public ByteBuf data() {
        return data;
    }

    /** Memory the batch occupies in the cache: the encoded length. */
    int memoryBytes() {
        return data.readableBytes();
    }

    /** A copy sharing the bytes, with its own retained reference for the caller. */
    CachedBatch retainedView() {
        return new CachedBatch(streamId, baseOffset, count, sizeBytes, data.retainedDuplicate());
    }

    @Override
    public String toString() {
        return "CachedBatch[stream=" + streamId + " offsets=[" + baseOffset + ", " + nextOffset()
                + ") sizeBytes=" + sizeBytes + " memoryBytes=" + data.readableBytes() + "]";
    }
}
