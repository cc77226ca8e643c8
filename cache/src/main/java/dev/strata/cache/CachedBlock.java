package dev.strata.cache;

import io.netty.buffer.ByteBuf;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loaded block of the {@link BlockCache} and the claims the cache's structures hold on its buffer.
 *
 * <p>Why claims on top of Netty's reference count: a reader finds the block in a map and then retains
 * its buffer, while eviction may release the map's reference in between. Retaining a pooled Netty
 * buffer after its last release is unsafe (the memory may already belong to another buffer), so
 * every retain goes through {@link #tryRetain()}, which refuses once the claims reached zero. The
 * buffer holds exactly one Netty reference for as long as {@code claims > 0}; readers get their own
 * Netty reference through {@link #retainedDuplicate()}.
 *
 * <p>Thread-safe.
 */
final class CachedBlock {
    final ByteBuf buf;
    /** Bytes the cache weighs the block by: the buffer's readable bytes. */
    final int sizeBytes;
    /** Bytes the load charged to the in-flight budget (the size the engine announced). */
    final long budgetBytes;
    /** Loaded by read-ahead rather than for a waiting reader. */
    final boolean prefetched;
    /** The stream whose read caused the load (read-ahead feedback). */
    final long streamId;
    /** Ticker time of the load, for the prefetch time to live. */
    final long loadedAtNanos;
    private final AtomicInteger claims = new AtomicInteger(1);
    /** For a block in the cache's prefetched map: {@link #UNREAD}, {@link #READ} or {@link #LEFT}. */
    private final AtomicInteger prefetchState = new AtomicInteger(UNREAD);
    /** Prefetched and not read yet. */
    static final int UNREAD = 0;
    /** Prefetched and read, still in the prefetched map (its stream reads in it). */
    static final int READ = 1;
    /** Removed from the prefetched map (or never in it). */
    static final int LEFT = 2;

    CachedBlock(ByteBuf buf, long budgetBytes, boolean prefetched, long streamId, long loadedAtNanos) {
        this.buf = buf;
        this.sizeBytes = buf.readableBytes();
        this.budgetBytes = budgetBytes;
        this.prefetched = prefetched;
        this.streamId = streamId;
        this.loadedAtNanos = loadedAtNanos;
    }

    /** Adds a claim unless the block was already released; true on success. */
    boolean tryRetain() {
        for (;;) {
            int c = claims.get();
            if (c == 0) {
                return false;
            }
            if (claims.compareAndSet(c, c + 1)) {
                return true;
            }
        }
    }

    /** Drops a claim; the last one releases the buffer. */
    void release() {
        if (claims.decrementAndGet() == 0) {
            buf.release();
        }
    }

    /** Unread to read; true only for the call that made the change (not after it left). */
    boolean markRead() {
        return prefetchState.compareAndSet(UNREAD, READ);
    }

    /** Whether the block was read while prefetched and has not left the prefetched map. */
    boolean isRead() {
        return prefetchState.get() == READ;
    }

    /**
     * Marks the block as removed from the prefetched map; returns its state before ({@link #UNREAD}
     * or {@link #READ}, or {@link #LEFT} if it had already left), so that exactly one removal
     * accounts for it.
     */
    int leave() {
        return prefetchState.getAndSet(LEFT);
    }

    /** A duplicate with its own Netty reference for a reader, or null when the block was already released. */
    ByteBuf retainedDuplicate() {
        if (!tryRetain()) {
            return null;
        }
        try {
            return buf.retainedDuplicate();
        } finally {
            release();
        }
    }
}
