package dev.strata.wal.uring;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.strata.wal.spi.WriteBackend;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Write backend of synchronous writes on writer threads: each submitted write runs on one of
 * {@code maxInFlight} threads ({@code strata-wal-write-N}) as one {@code pwritev2} on an O_DIRECT
 * descriptor, with {@code RWF_DSYNC} when durable, so it returns once the data is stable and the
 * thread then reports the completion. {@link #writeNow} does the same on the calling thread.
 *
 * <p>Why offer it beside io_uring's asynchronous writes: on ext4 over a device without FUA, an
 * asynchronous {@code RWF_DSYNC} write is finished (the device flush) by the kernel's per-CPU
 * {@code dio} workqueue on the CPU that took the device's interrupt, so whatever runs on that CPU
 * delays every acknowledgement by up to a scheduler slice (measured: fio's 16 KiB io_uring
 * {@code RWF_DSYNC} writes fell from 4,000/s to 251/s, p50 3.9 ms, with one busy thread on the
 * interrupt CPU, while {@code pwrite} with O_DSYNC kept 4,000/s at p99 0.31 ms). A synchronous
 * write issues the flush from the writing thread itself. Its cost is a thread hand-off per write:
 * 6-8% less peak throughput than io_uring in the same measurements, and a worse p99 when the CPUs
 * are saturated (a write then waits for its thread to be scheduled twice), so it is not AUTO's
 * choice. See
 * docs/measurements/2026-12-08-wal-completion-latency.md.
 *
 * <p>Thread-safety: thread-safe. {@code this} guards the count of writes running and the closed
 * flag; no I/O runs under it. A submitted write's buffer is read by a writer thread until its
 * completion runs; the WAL does not reuse it before then.
 *
 * <p>Failure: an errno becomes an {@link IOException} naming it and the range; a write the device
 * ends early (0 bytes) completes with the bytes written, which the WAL reports as a short write.
 */
final class PwriteWriteBackend implements WriteBackend {
    private static final AtomicInteger IDS = new AtomicInteger();

    private final int fd;
    private final int rwFlags;
    private final int maxInFlight;
    private final ExecutorService threads;
    @GuardedBy("this")
    private int running;
    @GuardedBy("this")
    private boolean closed;

    PwriteWriteBackend(Path file, int maxInFlight, boolean durable) throws IOException {
        if (!LibC.hasPwritev2()) {
            throw new IOException("pwritev2 not in this libc (glibc 2.26+ has it)");
        }
        int fd = LibC.openDirect(file);
        this.fd = fd;
        this.rwFlags = durable ? IoUring.RWF_DSYNC : 0;
        this.maxInFlight = maxInFlight;
        int id = IDS.getAndIncrement();
        AtomicInteger n = new AtomicInteger();
        this.threads = Executors.newFixedThreadPool(maxInFlight, r -> {
            Thread t = new Thread(r, "strata-wal-write-" + id + "-" + n.getAndIncrement());
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public String name() {
        return "pwritev2";
    }

    @Override
    public int maxInFlight() {
        return maxInFlight;
    }

    @Override
    public void submit(long offset, ByteBuffer src, Completion completion) {
        IOException refused = take();
        if (refused != null) {
            completion.completed(0, refused);
            return;
        }
        long address = MemorySegment.ofBuffer(src).address();
        int length = src.remaining();
        try {
            threads.execute(() -> write(offset, address, length, completion));
        } catch (RejectedExecutionException e) { // not expected: the pool stops only once nothing runs
            release();
            completion.completed(0, new IOException("pwritev2 backend refused the write: offset=" + offset, e));
        }
    }

    /** Runs on a writer thread: the write, then its completion. */
    private void write(long offset, long address, int length, Completion completion) {
        long written = 0;
        IOException error = null;
        try {
            written = LibC.pwriteFully(fd, address, length, offset, rwFlags);
        } catch (IOException e) {
            error = e;
        } catch (RuntimeException e) {
            error = new IOException("pwritev2 failed: offset=" + offset + " length=" + length + " error=" + e, e);
        }
        // The running count drops before the completion: it may submit the next write at once.
        release();
        completion.completed(written, error);
    }

    @Override
    public boolean canWriteNow() {
        return true;
    }

    @Override
    public long writeNow(long offset, ByteBuffer src) throws IOException {
        IOException refused = take();
        if (refused != null) {
            throw refused;
        }
        try {
            return LibC.pwriteFully(fd, MemorySegment.ofBuffer(src).address(), src.remaining(), offset, rwFlags);
        } finally {
            release();
        }
    }

    /** Counts one more write running, or says why not (closed, or more than maxInFlight). */
    private synchronized IOException take() {
        if (closed) {
            return new IOException("pwritev2 backend closed");
        }
        if (running >= maxInFlight) {
            return new IOException("more writes than maxInFlight=" + maxInFlight);
        }
        running++;
        return null;
    }

    private synchronized void release() {
        running--;
        notifyAll();
    }

    /** Waits for the writes running (submitted or on a caller), stops the threads, closes the descriptor. Idempotent. */
    @Override
    public void close() throws IOException {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            boolean interrupted = false;
            while (running > 0) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true; // the descriptor must outlive every write: keep waiting
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        threads.shutdown();
        try {
            threads.awaitTermination(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LibC.close(fd);
    }
}
