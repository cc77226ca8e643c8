package dev.strata.wal.uring;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.strata.wal.spi.WriteBackend;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Write backend on io_uring: each submitted write becomes one {@code IORING_OP_WRITE} on an
 * O_DIRECT descriptor, with {@code RWF_DSYNC} when durable, so the completion arrives only once
 * the data is stable: one round trip per group commit, no separate fdatasync, several writes in
 * flight. A dedicated thread ({@code strata-wal-uring-N}) waits for completions and reports them;
 * a short write is resubmitted for its remainder.
 *
 * <p>Thread-safety: {@link #submit} may be called from any thread. Two locks: {@code this} guards
 * the slots (taken and given back in a few instructions), {@code submissionLock} serializes the
 * submission queue and is held across the {@code io_uring_enter} call. The completion thread needs
 * only {@code this}, so it never waits behind a submitting thread's system call (JFR had shown it
 * blocked there on every other completion, a few hundred microseconds each time the submitter was
 * descheduled). The kernel reads the buffer until the completion, so each in-flight write keeps a
 * reference to its {@link ByteBuffer} in its slot.
 */
final class UringWriteBackend implements WriteBackend {
    private static final AtomicInteger IDS = new AtomicInteger();
    /** user_data of the no-op that wakes the completion thread at close. */
    private static final long WAKE = -1L;

    private final IoUring ring;
    private final int fd;
    private final int rwFlags;
    private final int maxInFlight;
    private final Slot[] slots;
    @GuardedBy("this")
    private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
    /** Serializes the submission queue: preparing entries and io_uring_enter. Taken after {@code this}, never before. */
    private final Object submissionLock = new Object();
    private final Thread completer;
    private volatile boolean closing;
    @GuardedBy("this")
    private boolean closed;

    /** One write in flight. */
    private static final class Slot {
        ByteBuffer buffer;
        Completion completion;
        long offset;
        long address;
        int length;
        int written;
    }

    UringWriteBackend(Path file, int queueDepth, boolean durable) throws IOException {
        int fd = LibC.openDirect(file);
        this.fd = fd;
        try {
            // room for every write plus a resubmitted remainder of each, and the wake-up no-op
            this.ring = new IoUring(Integer.highestOneBit(queueDepth * 2 + 1) * 2);
        } catch (IOException | RuntimeException e) {
            LibC.close(fd);
            throw e;
        }
        this.rwFlags = durable ? IoUring.RWF_DSYNC : 0;
        this.maxInFlight = queueDepth;
        this.slots = new Slot[queueDepth];
        for (int i = 0; i < queueDepth; i++) {
            slots[i] = new Slot();
            freeSlots.add(i);
        }
        this.completer = new Thread(this::runCompletions, "strata-wal-uring-" + IDS.getAndIncrement());
        this.completer.setDaemon(true);
        this.completer.start();
    }

    @Override
    public String name() {
        return "io_uring";
    }

    @Override
    public int maxInFlight() {
        return maxInFlight;
    }

    @Override
    public void submit(long offset, ByteBuffer src, Completion completion) {
        int id = -1;
        IOException refused = null;
        synchronized (this) {
            Integer free = closed ? null : freeSlots.poll();
            if (free == null) {
                refused = new IOException(closed ? "io_uring backend closed" : "more writes than maxInFlight=" + maxInFlight);
            } else {
                id = free;
                Slot s = slots[id];
                s.buffer = src;
                s.completion = completion;
                s.offset = offset;
                s.address = MemorySegment.ofBuffer(src).address();
                s.length = src.remaining();
                s.written = 0;
            }
        }
        if (refused != null) {
            completion.completed(0, refused); // holding no lock of ours, as every completion
            return;
        }
        Slot s = slots[id];
        // The slot is taken: close() waits for it to come back, so the ring is still open here.
        IOException error = null;
        synchronized (submissionLock) {
            try {
                ring.prepareWrite(fd, offset, s.address, s.length, rwFlags, id);
                ring.submit(1);
            } catch (IOException | RuntimeException e) {
                error = e instanceof IOException io ? io : new IOException(e);
            }
        }
        if (error != null) {
            s.buffer = null;
            s.completion = null; // never submitted: failAll must not report it again
            synchronized (this) {
                release(id);
            }
            completion.completed(0, error);
        }
    }

    @Override
    public boolean canWriteNow() {
        return LibC.hasPwritev2();
    }

    /**
     * One {@code pwritev2} on the same O_DIRECT descriptor with the same flags ({@code RWF_DSYNC}
     * when durable), so it returns once the data is stable, as a completion would. It holds a slot
     * for its duration, so {@link #close} waits for it and the descriptor stays open.
     */
    @Override
    public long writeNow(long offset, ByteBuffer src) throws IOException {
        if (!canWriteNow()) {
            throw new UnsupportedOperationException("pwritev2 not in this libc");
        }
        int id;
        synchronized (this) {
            Integer free = freeSlots.poll();
            if (closed || free == null) {
                if (free != null) {
                    freeSlots.add(free);
                }
                throw new IOException(closed ? "io_uring backend closed" : "more writes than maxInFlight=" + maxInFlight);
            }
            id = free;
        }
        try {
            return LibC.pwriteFully(fd, MemorySegment.ofBuffer(src).address(), src.remaining(), offset, rwFlags);
        } finally {
            synchronized (this) {
                release(id);
            }
        }
    }

    private void runCompletions() {
        try {
            while (true) {
                ring.waitForCompletions();
                boolean[] stop = {false};
                ring.reap((userData, res) -> {
                    if (userData == WAKE) {
                        stop[0] = true;
                    } else {
                        onCompletion((int) userData, res);
                    }
                });
                if (stop[0] || (closing && allIdle())) {
                    return;
                }
            }
        } catch (IOException | RuntimeException e) {
            failAll(e instanceof IOException io ? io : new IOException(e));
        }
    }

    private void onCompletion(int id, int res) {
        Slot s = slots[id];
        if (res == -LibC.EINTR || res == -LibC.EAGAIN) {
            resubmit(id, s);
            return;
        }
        if (res < 0) {
            finish(id, s, new IOException("io_uring write failed: offset=" + s.offset + " length=" + s.length
                    + " errno=" + -res + " " + LibC.strerror(-res)));
            return;
        }
        s.written += res;
        if (s.written < s.length && res > 0) {
            resubmit(id, s); // short write: the remainder, from where the device stopped
            return;
        }
        finish(id, s, null);
    }

    private void resubmit(int id, Slot s) {
        synchronized (submissionLock) {
            try {
                ring.prepareWrite(fd, s.offset + s.written, s.address + s.written, s.length - s.written, rwFlags, id);
                ring.submit(1);
                return;
            } catch (IOException | RuntimeException e) {
                // fall through to fail the write
            }
        }
        finish(id, s, new IOException("io_uring resubmit failed: offset=" + s.offset));
    }

    private void finish(int id, Slot s, IOException error) {
        Completion c = s.completion;
        long written = s.written;
        s.buffer = null;
        s.completion = null;
        synchronized (this) {
            release(id);
        }
        c.completed(written, error);
    }

    /** Gives slot {@code id} back and wakes a waiting close. */
    @GuardedBy("this")
    private void release(int id) {
        freeSlots.add(id);
        notifyAll();
    }

    private synchronized boolean allIdle() {
        return freeSlots.size() == maxInFlight;
    }

    private void failAll(IOException e) {
        for (int i = 0; i < slots.length; i++) {
            Slot s = slots[i];
            if (s.completion != null) {
                finish(i, s, e);
            }
        }
    }

    /** Waits for writes in flight, stops the completion thread, unmaps the ring, closes the descriptor. */
    @Override
    public void close() throws IOException {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            closing = true;
            while (freeSlots.size() < maxInFlight && completer.isAlive()) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            if (completer.isAlive()) {
                synchronized (submissionLock) {
                    ring.prepareNop(WAKE);
                    ring.submit(1);
                }
            }
        }
        try {
            completer.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ring.close();
        LibC.close(fd);
    }
}
