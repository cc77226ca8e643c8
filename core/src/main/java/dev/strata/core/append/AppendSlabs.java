package dev.strata.core.append;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledDirectByteBuf;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The buffers appends are encoded into: small ones carved one after another out of large pooled
 * slabs, and a slab whose buffers are all released is reused, so that an appending thread takes one
 * short monitor instead of the buffer pool's arena lock.
 *
 * <p>Why: the pool serves a small buffer from the allocating thread's cache only while that cache
 * holds buffers freed earlier; the engine's append buffers live for seconds in the LogCache and are
 * freed in bursts by other threads (eviction), so nearly every append went to a shared arena under
 * its lock, and with more appending threads than cores a preempted holder made the others wait for
 * milliseconds (JFR: appending threads parked in the pool's lock, 35 ms on average). Allocating
 * each slab from the pool still met that lock (38 ms on average, once per slab), hence the reuse;
 * keeping four spares was not enough, as one eviction frees a whole 8 MiB block of slabs at once.
 *
 * <p>Memory: each carved buffer holds its slab, so a slab is free again when its last buffer is
 * released. Appends are carved in the order they are encoded and the LogCache frees them in about
 * that order (a FIFO of blocks), so apart from the open slab and the one being freed at the cache's
 * head, a slab stays in use only while someone else holds one of its buffers (an unclosed fetch
 * result). Free slabs are kept for reuse, as many as one LogCache eviction frees at once
 * ({@link #sparesToCover}); the rest go back to the pool. Less than {@value #MAX_CARVED_BYTES} bytes
 * of a slab are left unused at its end (3%). Larger appends get their own pooled buffer.
 *
 * <p>Thread-safe. After {@link #close()}, every buffer comes straight from the pool, and slabs go
 * back to the pool once their buffers are released.
 */
public final class AppendSlabs implements AutoCloseable {
    /** Size of one slab. */
    static final int SLAB_BYTES = 1 << 20;
    /** Largest buffer carved from a slab. */
    static final int MAX_CARVED_BYTES = 32 << 10;
    /** Upper bound of {@link #sparesToCover}. */
    static final int MAX_SPARE_SLABS = 64;

    private final ByteBufAllocator allocator;
    private final int maxSpares;
    /** The slab being carved, or null. */
    @GuardedBy("this")
    private Slab open;
    /** Where the next buffer starts in open. */
    @GuardedBy("this")
    private int position;
    /** Free slabs' memory, each one reference. */
    @GuardedBy("this")
    private final ArrayDeque<ByteBuf> spares = new ArrayDeque<>();
    @GuardedBy("this")
    private boolean closed;

    /**
     * @param maxSpares free slabs kept for reuse, at least 0; see {@link #sparesToCover}
     */
    public AppendSlabs(ByteBufAllocator allocator, int maxSpares) {
        if (maxSpares < 0) {
            throw new IllegalArgumentException("maxSpares must be >= 0, got " + maxSpares);
        }
        this.allocator = allocator;
        this.maxSpares = maxSpares;
    }

    /**
     * Spares that take the slabs one eviction frees: the LogCache evicts a block of
     * {@code evictionBytes} at a time, which frees about that many bytes of slabs at once, and the
     * appends after it reuse them. Two more for the slabs a block shares with its neighbours. At
     * most {@value #MAX_SPARE_SLABS}.
     */
    public static int sparesToCover(long evictionBytes) {
        return (int) Math.min(MAX_SPARE_SLABS, Math.max(0, evictionBytes) / SLAB_BYTES + 2);
    }

    /**
     * A direct buffer of exactly {@code bytes} capacity, empty (writer index 0); the caller owns it
     * (one reference).
     *
     * @throws IllegalArgumentException if {@code bytes < 0}
     */
    ByteBuf allocate(int bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0, got " + bytes);
        }
        if (bytes > MAX_CARVED_BYTES) {
            return allocator.directBuffer(bytes, bytes);
        }
        ByteBuf fresh = null; // a slab allocated from the pool outside the monitor
        try {
            while (true) {
                Slab retired = null;
                try {
                    synchronized (this) {
                        if (closed) {
                            return allocator.directBuffer(bytes, bytes);
                        }
                        if (open == null || SLAB_BYTES - position < bytes) {
                            ByteBuf memory = spares.poll();
                            if (memory == null) {
                                memory = fresh;
                                fresh = null;
                            }
                            if (memory != null) {
                                retired = open;
                                open = new Slab(memory);
                                position = 0;
                            }
                        }
                        if (open != null && SLAB_BYTES - position >= bytes) {
                            ByteBuf carved = new CarvedBuffer(open, position, bytes);
                            position += bytes;
                            return carved;
                        }
                    }
                } finally {
                    if (retired != null) {
                        releaseHold(retired); // the carver's hold; its buffers keep it in use
                    }
                }
                fresh = allocator.directBuffer(SLAB_BYTES, SLAB_BYTES); // no spare: from the pool, holding no lock
            }
        } finally {
            if (fresh != null) { // another thread put a slab in place first
                keepOrFree(fresh);
            }
        }
    }

    /** Drops one hold of {@code slab}; the last one makes its memory a spare (or returns it to the pool). */
    private void releaseHold(Slab slab) {
        int left = slab.holds.decrementAndGet();
        if (left == 0) {
            keepOrFree(slab.memory);
        } else if (left < 0) {
            throw new IllegalStateException("slab released more often than held");
        }
    }

    private void keepOrFree(ByteBuf memory) {
        synchronized (this) {
            if (!closed && spares.size() < maxSpares) {
                spares.add(memory);
                return;
            }
        }
        memory.release();
    }

    /**
     * Lets go of the open slab (its buffers keep it until they are released) and of the spares; later
     * buffers come from the pool.
     */
    @Override
    public void close() {
        Slab last;
        ByteBuf[] free;
        synchronized (this) {
            closed = true;
            last = open;
            open = null;
            free = spares.toArray(ByteBuf[]::new);
            spares.clear();
        }
        for (ByteBuf b : free) {
            b.release();
        }
        if (last != null) {
            releaseHold(last);
        }
    }

    /** One use of a slab's memory: held by the carver while open, and by each carved buffer. */
    private static final class Slab {
        final ByteBuf memory; // one reference
        final AtomicInteger holds = new AtomicInteger(1); // the carver's

        Slab(ByteBuf memory) {
            this.memory = memory;
        }
    }

    /**
     * One buffer carved from a slab: a buffer of its own (indexes, reference count and NIO view, so
     * threads using different carved buffers share no state) over the slab's memory, holding the slab
     * until it is released. Not a Netty derived buffer ({@code retainedSlice}): those share their
     * parent's internal NIO buffer, which is not safe across threads.
     */
    private final class CarvedBuffer extends UnpooledDirectByteBuf {
        private Slab slab; // one hold, until deallocate

        CarvedBuffer(Slab slab, int index, int bytes) {
            super(allocator, slab.memory.nioBuffer(index, bytes), bytes);
            slab.holds.incrementAndGet();
            this.slab = slab;
            clear();
        }

        @Override
        protected void deallocate() {
            super.deallocate(); // does not free the memory: it is the slab's
            Slab s = slab;
            slab = null;
            releaseHold(s);
        }
    }
}
