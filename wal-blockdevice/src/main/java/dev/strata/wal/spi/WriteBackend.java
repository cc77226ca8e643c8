package dev.strata.wal.spi;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Asynchronous positional writes to one open WAL file or device: the only I/O the append path
 * does. Internal service interface between {@code dev.strata.wal} and its backends; not an API for
 * users (it is public only because the io_uring backend lives in another package, compiled for
 * JDK 22).
 *
 * <p>Thread-safety: implementations are thread-safe; {@link #submit} may be called from several
 * threads at once (appenders, completion threads). Completions may be reported on any backend
 * thread, concurrently with {@link #submit}, or even inside {@code submit} on the caller's thread
 * (an immediate failure); the caller must not hold locks that the completion needs.
 *
 * <p>Durability: when the backend was opened durable, a write is reported complete only once its
 * bytes are stable (O_DIRECT write followed by {@code fdatasync}, or a write with
 * {@code RWF_DSYNC}). Short writes are retried inside the backend; a completion with fewer bytes
 * than submitted means the device gave up.
 */
public interface WriteBackend extends AutoCloseable {

    /** Which implementation this is, for logging and {@code WriteAheadLog.backend()}. */
    String name();

    /** Writes the backend can have in flight at once; the WAL never submits more. */
    int maxInFlight();

    /**
     * Starts writing {@code src} (position to limit, block-aligned address, offset and length) at
     * {@code offset}. The buffer belongs to the backend until {@code completion} runs, which
     * happens exactly once per submitted write.
     */
    void submit(long offset, ByteBuffer src, Completion completion);

    /** Whether {@link #writeNow} works on this backend. */
    default boolean canWriteNow() {
        return false;
    }

    /**
     * Writes {@code src} (as for {@link #submit}) at {@code offset} on the calling thread and
     * returns once the bytes are as durable as a completed {@link #submit} would report them. Counts
     * against {@link #maxInFlight} while it runs, and {@link #close} waits for it. Not interruptible:
     * an interrupt of the calling thread neither stops the write nor closes anything.
     *
     * @return bytes made durable (less than submitted only when the device gave up)
     * @throws IOException the write failed (errno in the message); part of the range may be written
     * @throws UnsupportedOperationException if {@link #canWriteNow} is false
     */
    default long writeNow(long offset, ByteBuffer src) throws IOException {
        throw new UnsupportedOperationException(name() + " cannot write on the calling thread");
    }

    /**
     * Waits for writes in flight, then releases threads, rings and descriptors. Idempotent.
     */
    @Override
    void close() throws IOException;

    /** Outcome of one {@link #submit}. */
    @FunctionalInterface
    interface Completion {
        /**
         * @param bytesWritten bytes made durable (less than submitted only with an error)
         * @param error {@code null} on success; otherwise the I/O error (errno in the message)
         */
        void completed(long bytesWritten, IOException error);
    }
}
