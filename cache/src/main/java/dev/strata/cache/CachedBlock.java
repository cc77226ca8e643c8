package dev.strata.cache;

import io.netty.buffer.ByteBuf;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A block in the {@link BlockCache} and the cache's claim on its buffer.
 *
 * <p>Why a second reference count on top of Netty's: a reader finds the block in Caffeine and then
 * retains its buffer, while eviction may release the cache's reference in between. Retaining a
 * pooled Netty buffer after its last release is unsafe (the memory may already belong to another
 * buffer), so readers go through {@link #retainedDuplicate()}, which only retains the buffer while
 * {@link #refs} shows it alive. The buffer holds one Netty reference for as long as {@code refs > 0}.
 *
 * <p>Thread-safe.
 */
final class CachedBlock {
    final ByteBuf buf;
    final int sizeBytes;
    /** Loaded by read-ahead rather than for a waiting reader. */
    final boolean prefetched;
    /** The stream whose read caused the load (read-ahead feedback). */
    final long streamId;
    private final AtomicInteger refs = new AtomicInteger(1);
    private final AtomicBoolean read = new AtomicBoolean();

    CachedBlock(ByteBuf buf, boolean prefetched, long streamId) {
        this.buf = buf;
        this.sizeBytes = buf.readableBytes();
        this.prefetched = prefetched;
        this.streamId = streamId;
    }

    /** A duplicate with its own reference for a reader, or null when the block was already released. */
    ByteBuf retainedDuplicate() {
        for (;;) {
            int r = refs.get();
            if (r == 0) {
                return null;
            }
            if (refs.compareAndSet(r, r + 1)) {
                break;
            }
        }
        try {
            return buf.retainedDuplicate();
        } finally {
            release();
        }
    }

    /** Adds a claim; only valid while the caller already holds one. */
    void retain() {
        refs.incrementAndGet();
    }

    /** Drops a claim; the last one releases the buffer. */
    void release() {
        if (refs.decrementAndGet() == 0) {
            buf.release();
        }
    }

    /** Marks the block read; true on the first read of a prefetched block (the prefetch paid off). */
    boolean markRead() {
        return read.compareAndSet(false, true) && prefetched;
    }

    boolean wasRead() {
        return read.get();
    }
}
