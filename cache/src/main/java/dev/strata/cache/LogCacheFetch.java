package dev.strata.cache;

import java.util.List;

/**
 * Result of {@link LogCache#fetch}: either a <em>miss</em> (the cache does not hold the start offset
 * for this stream; read from objects) or a <em>hit</em> with the batches, in offset order, each with
 * its own retained buffer. A hit may be empty (a tailing reader polling at the stream's end).
 *
 * <p>The caller must {@link #close()} a hit to release the buffers; closing a miss does nothing.
 * {@code close()} is idempotent. Not thread-safe for concurrent close.
 */
public final class LogCacheFetch implements AutoCloseable {
    private static final LogCacheFetch MISS = new LogCacheFetch(false, List.of(), -1);

    private final boolean hit;
    private final List<CachedBatch> batches;
    private final long nextOffset;
    private boolean closed;

    private LogCacheFetch(boolean hit, List<CachedBatch> batches, long nextOffset) {
        this.hit = hit;
        this.batches = batches;
        this.nextOffset = nextOffset;
    }

    static LogCacheFetch miss() {
        return MISS;
    }

    static LogCacheFetch hit(List<CachedBatch> batches, long nextOffset) {
        return new LogCacheFetch(true, List.copyOf(batches), nextOffset);
    }

    /** True when the cache answered the fetch; false when the caller must read from objects. */
    public boolean isHit() {
        return hit;
    }

    /** The batches of a hit, in offset order and contiguous; empty for a miss. */
    public List<CachedBatch> batches() {
        return batches;
    }

    /**
     * Where the next sequential fetch starts: after the last returned batch, or the start offset of
     * an empty hit.
     *
     * @throws IllegalStateException on a miss
     */
    public long nextOffset() {
        if (!hit) {
            throw new IllegalStateException("nextOffset of a cache miss");
        }
        return nextOffset;
    }

    /** Sum of {@link CachedBatch#sizeBytes()} of the batches. */
    public long sizeBytes() {
        long sum = 0;
        for (CachedBatch b : batches) {
            sum += b.sizeBytes();
        }
        return sum;
    }

    /** Releases the batches' buffers; idempotent. */
    @Override
    public void close() {
        if (closed || !hit) {
            return;
        }
        closed = true;
        for (CachedBatch b : batches) {
            b.data().release();
        }
    }
}
