/**
 * The write backends that need the FFM API (JDK 22+): io_uring, a thin, pure-Java binding used by
 * the WAL's append path when the JDK, native access and the kernel allow (AUTO), and synchronous
 * {@code pwritev2} on writer threads ({@link dev.strata.wal.uring.PwriteWriteBackend}, an explicit
 * choice).
 *
 * <p>Owns: ring setup and teardown ({@code io_uring_setup}, mmap of the SQ/CQ rings and SQEs,
 * munmap), SQE preparation, submission, completion reaping and errno reporting, and the O_DIRECT
 * descriptor it writes through. Each group-commit write is one {@code IORING_OP_WRITE} with
 * {@code RWF_DSYNC}, which measured about the latency of pwrite+fdatasync and faster than a linked
 * WRITE -> FSYNC, which io_uring punts to a worker thread (the I/O measurements in
 * docs/measurements/2026-11-21-io-uring-and-o-direct.md, §4 and §6b).
 *
 * <p>Does not own: grouping, ordering or durability bookkeeping ({@code dev.strata.wal}); reads and
 * header writes (the WAL uses its FileChannel for those).
 *
 * <p>Why our own binding: no maintained Java library writes files with O_DIRECT and a sync
 * through io_uring (I/O measurements §5), and JNI would mean shipping native libraries per architecture.
 *
 * <p>Java versions: compiled with {@code --release 22} into the normal class output (see the
 * {@code dev.strata.wal} package documentation for why these are distinct classes rather than a
 * multi-release override) and loaded only through {@link java.util.ServiceLoader} on JDK 22+.
 *
 * <p>Threads: {@code strata-wal-uring-N} waits in {@code io_uring_enter(GETEVENTS)} and runs the
 * completions; submissions come from appending threads or the completion thread.
 * {@code strata-wal-write-N-K} (pwritev2) each run one write at a time and report its completion.
 *
 * <p>Buffers: the kernel reads a submitted buffer until its completion; the backend keeps a
 * reference to it until then and the WAL does not reuse it before the completion runs.
 */
package dev.strata.wal.uring;
