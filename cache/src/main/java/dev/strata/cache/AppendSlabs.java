package dev.strata.cache;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledDirectByteBuf;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
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
 * result). Free slabs are kept for reuse while the slabs taken from the pool (in use and free) number
 * at most {@code maxSlabs}, which the LogCache sets to its capacity ({@link #slabsFor}); beyond that
 * they go back to the pool. So once the cache has filled, appends never take memory from the pool:
 * a fresh slab meant a new pool chunk now and then, zeroed and page-faulted in on the appending
 * thread (JFR: appends stalled 10-20 ms in {@code allocateDirect} when freed slabs had gone back to
 * the pool). Less than {@value #MAX_CARVED_BYTES} bytes of a slab are left unused at its end (3%).
 * Larger appends get their own pooled buffer.
 *
 * <p><b>With the LogCache.</b> A carved buffer inserted into the {@link LogCache} is not kept as a
 * buffer: the cache notes its slab and position and takes a hold of the slab for it, and the buffer
 * object itself is dropped. So a cached batch costs the heap no object of its own (a few array
 * slots): with seconds of small batches cached, per-batch objects (buffer, NIO view, list node)
 * made every young collection copy hundreds of thousands of objects (G1 pauses of 50-100 ms at
 * 18,000 appends/s of 1 KiB, JFR). Readers get short-lived views ({@link #view}).
 *
 * <p>Thread-safe. After {@link #close()}, every buffer comes straight from the pool, and slabs go
 * back to the pool once their buffers are released.
 */
final class AppendSlabs implements AutoCloseable {
    /** Size of one slab. */
    static final int SLAB_BYTES = 1 << 20;
    /** Largest buffer carved from a slab. */
    static final int MAX_CARVED_BYTES = 32 << 10;
    private final ByteBufAllocator allocator;
    /** Most slabs taken from the pool at once (in use and free); free ones beyond it go back. */
    private final int maxSlabs;
    /** Slabs taken from the pool and not given back: in use, open, or spare. */
    @GuardedBy("this")
    private int slabsTaken;
    /** Free slabs the refill thread keeps ready, so that appends do not wait for the pool; 0 for none. */
    private final int reserve;
    /** Takes slabs from the pool ahead of need ("strata-slab-refill"), started on first need; or null. */
    @GuardedBy("this")
    private Thread refiller;
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
     * @param maxSlabs most slabs kept from the pool at once, in use and free, at least 0 (see
     *     {@link #slabsFor}); a freed slab beyond it goes back to the pool
     */
    AppendSlabs(ByteBufAllocator allocator, int maxSlabs) {
        this(allocator, maxSlabs, 0);
    }

    /**
     * @param reserve free slabs a background thread keeps ready (within {@code maxSlabs}), at least
     *     0: a slab taken from the pool is a new pool chunk now and then, which the JDK zeroes and the
     *     kernel faults in page by page (JFR: 29% of all CPU samples, on the appending threads, while
     *     a LogCache filled); the thread pays for that instead of an append, and touches the pages
     */
    AppendSlabs(ByteBufAllocator allocator, int maxSlabs, int reserve) {
        if (maxSlabs < 0) {
            throw new IllegalArgumentException("maxSlabs must be >= 0, got " + maxSlabs);
        }
        if (reserve < 0) {
            throw new IllegalArgumentException("reserve must be >= 0, got " + reserve);
        }
        this.allocator = allocator;
        this.maxSlabs = maxSlabs;
        this.reserve = reserve;
    }

    /**
     * The slabs a LogCache of {@code capacityBytes} fills, plus two (the open slab, and one its head
     * block shares with the next): memory the cache's limit already allows for.
     */
    static int slabsFor(long capacityBytes) {
        return (int) Math.min(Integer.MAX_VALUE, Math.max(0, capacityBytes) / SLAB_BYTES + 2);
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
                            askRefill();
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
                synchronized (this) {
                    slabsTaken++;
                }
            }
        } finally {
            if (fresh != null) { // another thread put a slab in place first
                keepOrFree(fresh);
            }
        }
    }

    /**
     * A new buffer over {@code length} bytes of {@code slab} from {@code index}, with one reference,
     * holding the slab until it is released: what a reader of a cached batch gets.
     */
    ByteBuf view(Slab slab, int index, int length) {
        return new CarvedBuffer(slab, index, length).writerIndex(length);
    }

    /**
     * Wakes (or starts) the refill thread when the spares ran low and the limit allows more slabs.
     * Holds: this.
     */
    @GuardedBy("this")
    private void askRefill() {
        if (reserve == 0 || closed || spares.size() >= reserve / 2 + 1 || slabsTaken >= maxSlabs) {
            return;
        }
        if (refiller == null) {
            refiller = new Thread(this::refill, "strata-slab-refill");
            refiller.setDaemon(true);
            refiller.start();
        } else {
            notifyAll();
        }
    }

    /** The refill thread: tops the spares up to {@code reserve} whenever asked, until closed. */
    private void refill() {
        while (true) {
            synchronized (this) {
                while (!closed && (spares.size() >= reserve || slabsTaken >= maxSlabs)) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return; // only close-time shutdown interrupts; nothing is held here
                    }
                }
                if (closed) {
                    return;
                }
                slabsTaken++;
            }
            ByteBuf memory;
            try {
                memory = allocator.directBuffer(SLAB_BYTES, SLAB_BYTES);
                memory.setZero(0, SLAB_BYTES); // fault the pages in here, not on an appending thread
            } catch (RuntimeException | OutOfMemoryError e) {
                synchronized (this) {
                    slabsTaken--;
                }
                org.slf4j.LoggerFactory.getLogger(AppendSlabs.class).warn(
                        "taking a slab ahead of need failed; appends take their own: {}", e.toString());
                return; // the next need starts no thread (refiller stays set): appends allocate as before
            }
            keepOrFree(memory); // freed again if closed meanwhile
        }
    }

    /** Drops one hold of {@code slab}; the last one makes its memory a spare (or returns it to the pool). */
    void releaseHold(Slab slab) {
        int left = slab.holds.decrementAndGet();
        if (left == 0) {
            keepOrFree(slab.memory);
        } else if (left < 0) {
            throw new IllegalStateException("slab released more often than held");
        }
    }

    private void keepOrFree(ByteBuf memory) {
        synchronized (this) {
            if (!closed && slabsTaken <= maxSlabs) {
                spares.add(memory);
                return;
            }
            slabsTaken--;
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
        Thread refilling;
        synchronized (this) {
            closed = true;
            notifyAll(); // the refill thread stops
            refilling = refiller;
            last = open;
            open = null;
            free = spares.toArray(ByteBuf[]::new);
            spares.clear();
            slabsTaken -= free.length;
        }
        for (ByteBuf b : free) {
            b.release();
        }
        if (last != null) {
            releaseHold(last);
        }
        if (refilling != null) {
            try {
                refilling.join(TimeUnit.SECONDS.toMillis(10)); // a slab it is taking goes back to the pool first
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * One use of a slab's memory: held by the carver while open, by each carved buffer and view,
     * and by the LogCache for each batch it keeps there.
     */
    static final class Slab {
        final ByteBuf memory; // one reference
        final AtomicInteger holds = new AtomicInteger(1); // the carver's

        Slab(ByteBuf memory) {
            this.memory = memory;
        }

        /** Adds a hold; the caller already has one (a carved buffer, or the cache's entry). */
        void hold() {
            if (holds.getAndIncrement() <= 0) {
                throw new IllegalStateException("slab already free");
            }
        }
    }

    /**
     * One buffer carved from a slab: a buffer of its own (indexes, reference count and NIO view, so
     * threads using different carved buffers share no state) over the slab's memory, holding the slab
     * until it is released. Not a Netty derived buffer ({@code retainedSlice}): those share their
     * parent's internal NIO buffer, which is not safe across threads.
     */
    final class CarvedBuffer extends UnpooledDirectByteBuf {
        private Slab slab; // one hold, until deallocate
        private final int index; // where in the slab

        CarvedBuffer(Slab slab, int index, int bytes) {
            super(allocator, slab.memory.nioBuffer(index, bytes), bytes);
            slab.holds.incrementAndGet();
            this.slab = slab;
            this.index = index;
            clear();
        }

        /** Whether {@code slabs} carved this buffer. */
        boolean carvedBy(AppendSlabs slabs) {
            return slabs == AppendSlabs.this;
        }

        /** The slab; valid while this buffer is not released. */
        Slab slab() {
            return slab;
        }

        /** Position of this buffer's first byte in its slab. */
        int slabIndex() {
            return index;
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
