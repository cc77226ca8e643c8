package dev.strata.core;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledDirectByteBuf;

/**
 * The buffers appends are encoded into: small ones carved one after another out of large pooled
 * slabs, so that an appending thread takes one short monitor instead of the buffer pool's arena lock.
 *
 * <p>Why: the pool serves a small buffer from the allocating thread's cache only while that cache
 * holds buffers freed earlier; the engine's append buffers live for seconds in the LogCache and are
 * freed in bursts by other threads (eviction), so nearly every append went to a shared arena under
 * its lock, and with more appending threads than cores a preempted holder made the others wait for
 * milliseconds (JFR: appending threads parked in the pool's lock, 35 ms on average). A slab is one
 * pool allocation per {@value #SLAB_BYTES} bytes of appends.
 *
 * <p>Memory: each carved buffer holds a reference to its slab, so a slab goes back to the pool when
 * its last buffer is released. Appends are carved in the order they are encoded and the LogCache
 * frees them in about that order (a FIFO of blocks), so apart from the open slab and the one being
 * freed at the cache's head, a slab stays alive only while someone else holds one of its buffers (an
 * unclosed fetch result). At most {@value #MAX_CARVED_BYTES} bytes of a slab are left unused at its
 * end (3%). Larger appends get their own pooled buffer.
 *
 * <p>Thread-safe. After {@link #close()}, every buffer comes straight from the pool.
 */
final class AppendSlabs implements AutoCloseable {
    /** Size of one slab. */
    static final int SLAB_BYTES = 1 << 20;
    /** Largest buffer carved from a slab. */
    static final int MAX_CARVED_BYTES = 32 << 10;

    private final ByteBufAllocator allocator;
    // guarded by: this; the slab being carved (this object holds one reference of it), or null
    private ByteBuf slab;
    // guarded by: this; where the next buffer starts in slab
    private int position;
    // guarded by: this
    private boolean closed;

    AppendSlabs(ByteBufAllocator allocator) {
        this.allocator = allocator;
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
        ByteBuf spare = null; // a new slab allocated outside the monitor
        try {
            while (true) {
                ByteBuf retired = null;
                try {
                    synchronized (this) {
                        if (closed) {
                            return allocator.directBuffer(bytes, bytes);
                        }
                        if (slab == null || SLAB_BYTES - position < bytes) {
                            if (spare == null) {
                                // fall through: allocate a slab without holding the monitor
                            } else {
                                retired = slab;
                                slab = spare;
                                spare = null;
                                position = 0;
                            }
                        }
                        if (slab != null && SLAB_BYTES - position >= bytes) {
                            ByteBuf carved = new CarvedBuffer(allocator, slab, position, bytes);
                            position += bytes;
                            return carved;
                        }
                    }
                } finally {
                    if (retired != null) {
                        retired.release(); // this object's reference; its buffers keep it alive
                    }
                }
                spare = allocator.directBuffer(SLAB_BYTES, SLAB_BYTES);
            }
        } finally {
            if (spare != null) { // another thread installed a slab first
                spare.release();
            }
        }
    }

    /** Lets go of the open slab (its buffers keep it alive); later buffers come from the pool. */
    @Override
    public void close() {
        ByteBuf last;
        synchronized (this) {
            closed = true;
            last = slab;
            slab = null;
        }
        if (last != null) {
            last.release();
        }
    }

    /**
     * One buffer carved from a slab: a buffer of its own (indexes, reference count and NIO view, so
     * threads using different carved buffers share no state) over the slab's memory, holding one
     * reference of the slab until it is released. Not a Netty derived buffer ({@code retainedSlice}):
     * those share their parent's internal NIO buffer, which is not safe across threads.
     */
    private static final class CarvedBuffer extends UnpooledDirectByteBuf {
        private ByteBuf slab; // one reference, until deallocate

        CarvedBuffer(ByteBufAllocator allocator, ByteBuf slab, int index, int bytes) {
            super(allocator, slab.nioBuffer(index, bytes), bytes);
            this.slab = slab.retain();
            clear();
        }

        @Override
        protected void deallocate() {
            super.deallocate(); // does not free the memory: it is the slab's
            ByteBuf s = slab;
            slab = null;
            s.release();
        }
    }
}
