package dev.strata.wal.uring;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * One io_uring instance: setup, the mmapped submission and completion rings, SQE preparation,
 * submission and completion reaping. No SQPOLL and no IOPOLL (virtio has no poll queues and
 * rejects FSYNC under IOPOLL, I/O measurements §6).
 *
 * <p>Thread-safety: the submission side ({@link #prepareWrite}, {@link #prepareNop},
 * {@link #submit}) must be used by one thread at a time (callers synchronize); the completion side
 * ({@link #waitForCompletions}, {@link #reap}) by one thread. The two sides may run concurrently:
 * they share only the kernel-synchronized ring indices.
 *
 * <p>Memory ordering (as liburing): SQ tail is published with a release store after the SQE and
 * SQ array entry are written; CQ tail is read with an acquire load before reading CQEs; CQ head
 * is released after the CQEs were consumed.
 */
final class IoUring implements AutoCloseable {
    static final byte IORING_OP_NOP = 0;
    static final byte IORING_OP_WRITE = 23;
    static final int RWF_DSYNC = 2;
    static final int IORING_ENTER_GETEVENTS = 1;
    private static final long IORING_OFF_SQ_RING = 0L;
    private static final long IORING_OFF_CQ_RING = 0x8000000L;
    private static final long IORING_OFF_SQES = 0x10000000L;
    private static final int IORING_FEAT_SINGLE_MMAP = 1;
    private static final int SQE_BYTES = 64;
    private static final int CQE_BYTES = 16;
    /** sizeof(struct io_uring_params). */
    private static final int PARAMS_BYTES = 120;
    private static final VarHandle INT = JAVA_INT.varHandle();

    private final int ringFd;
    private final MemorySegment sqRing;
    private final MemorySegment cqRing;
    private final MemorySegment sqes;
    private final int sqMask;
    private final int sqEntries;
    private final int cqMask;
    private final long sqHeadOff;
    private final long sqTailOff;
    private final long sqArrayOff;
    private final long cqHeadOff;
    private final long cqTailOff;
    private final long cqesOff;
    private int localTail; // submission side only
    private boolean closed;

    IoUring(int entries) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(PARAMS_BYTES, 8);
            long fd = LibC.syscall(LibC.SYS_IO_URING_SETUP, entries, p.address(), 0, 0, 0, 0);
            if (fd < 0) {
                throw new IOException("io_uring_setup failed: entries=" + entries + " errno=" + -fd + " "
                        + LibC.strerror((int) -fd));
            }
            ringFd = (int) fd;
            sqEntries = p.get(JAVA_INT, 0);
            int cqEntries = p.get(JAVA_INT, 4);
            int features = p.get(JAVA_INT, 20);
            sqHeadOff = p.get(JAVA_INT, 40);
            sqTailOff = p.get(JAVA_INT, 44);
            long sqMaskOff = p.get(JAVA_INT, 48);
            sqArrayOff = p.get(JAVA_INT, 64);
            cqHeadOff = p.get(JAVA_INT, 80);
            cqTailOff = p.get(JAVA_INT, 84);
            long cqMaskOff = p.get(JAVA_INT, 88);
            cqesOff = p.get(JAVA_INT, 100);
            long sqSize = sqArrayOff + 4L * sqEntries;
            long cqSize = cqesOff + (long) CQE_BYTES * cqEntries;
            boolean single = (features & IORING_FEAT_SINGLE_MMAP) != 0;
            try {
                if (single) {
                    sqRing = LibC.mmap(Math.max(sqSize, cqSize), ringFd, IORING_OFF_SQ_RING);
                    cqRing = sqRing;
                } else {
                    sqRing = LibC.mmap(sqSize, ringFd, IORING_OFF_SQ_RING);
                    cqRing = LibC.mmap(cqSize, ringFd, IORING_OFF_CQ_RING);
                }
                sqes = LibC.mmap((long) SQE_BYTES * sqEntries, ringFd, IORING_OFF_SQES);
            } catch (RuntimeException e) {
                LibC.close(ringFd);
                throw new IOException("io_uring mmap failed: " + e.getMessage(), e);
            }
            sqMask = sqRing.get(JAVA_INT, sqMaskOff);
            cqMask = cqRing.get(JAVA_INT, cqMaskOff);
            localTail = sqRing.get(JAVA_INT, sqTailOff);
        }
    }

    int sqEntries() {
        return sqEntries;
    }

    /** Fills the next SQE with a write of {@code len} bytes at {@code address} to {@code fd} at {@code offset}. */
    void prepareWrite(int fd, long offset, long address, int len, int rwFlags, long userData) {
        long b = nextSqe();
        sqes.set(JAVA_BYTE, b, IORING_OP_WRITE);
        sqes.set(JAVA_INT, b + 4, fd);
        sqes.set(JAVA_LONG, b + 8, offset);
        sqes.set(JAVA_LONG, b + 16, address);
        sqes.set(JAVA_INT, b + 24, len);
        sqes.set(JAVA_INT, b + 28, rwFlags);
        sqes.set(JAVA_LONG, b + 32, userData);
    }

    /** Fills the next SQE with a no-op (used to wake the completion thread). */
    void prepareNop(long userData) {
        long b = nextSqe();
        sqes.set(JAVA_BYTE, b, IORING_OP_NOP);
        sqes.set(JAVA_LONG, b + 32, userData);
    }

    private long nextSqe() {
        int head = (int) INT.getAcquire(sqRing, sqHeadOff);
        if (localTail - head >= sqEntries) {
            throw new IllegalStateException("io_uring submission queue full: entries=" + sqEntries);
        }
        int idx = localTail & sqMask;
        long b = (long) SQE_BYTES * idx;
        sqes.asSlice(b, SQE_BYTES).fill((byte) 0);
        sqRing.set(JAVA_INT, sqArrayOff + 4L * idx, idx);
        localTail++;
        return b;
    }

    /** Publishes prepared SQEs and submits them; retries on EINTR. */
    void submit(int count) throws IOException {
        INT.setRelease(sqRing, sqTailOff, localTail);
        int left = count;
        while (left > 0) {
            long r = LibC.syscall(LibC.SYS_IO_URING_ENTER, ringFd, left, 0, 0, 0, 0);
            if (r == -LibC.EINTR || r == -LibC.EAGAIN) {
                continue;
            }
            if (r < 0) {
                throw new IOException("io_uring_enter(submit) failed: errno=" + -r + " " + LibC.strerror((int) -r));
            }
            left -= (int) r;
        }
    }

    /** Blocks until at least one completion is available; EINTR just returns. */
    void waitForCompletions() throws IOException {
        long r = LibC.syscall(LibC.SYS_IO_URING_ENTER, ringFd, 0, 1, IORING_ENTER_GETEVENTS, 0, 0);
        if (r < 0 && r != -LibC.EINTR && r != -LibC.EAGAIN) {
            throw new IOException("io_uring_enter(wait) failed: errno=" + -r + " " + LibC.strerror((int) -r));
        }
    }

    /** Receives one completion. */
    @FunctionalInterface
    interface CompletionHandler {
        void handle(long userData, int result);
    }

    /** Consumes every available completion; returns how many. */
    int reap(CompletionHandler handler) {
        int head = cqRing.get(JAVA_INT, cqHeadOff);
        int tail = (int) INT.getAcquire(cqRing, cqTailOff);
        int n = 0;
        while (head != tail) {
            long b = cqesOff + (long) CQE_BYTES * (head & cqMask);
            long userData = cqRing.get(JAVA_LONG, b);
            int res = cqRing.get(JAVA_INT, b + 8);
            head++;
            n++;
            INT.setRelease(cqRing, cqHeadOff, head);
            handler.handle(userData, res);
        }
        return n;
    }

    /** Unmaps the rings and closes the ring descriptor. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        LibC.munmap(sqes);
        if (cqRing != sqRing) {
            LibC.munmap(cqRing);
        }
        LibC.munmap(sqRing);
        LibC.close(ringFd);
    }
}
