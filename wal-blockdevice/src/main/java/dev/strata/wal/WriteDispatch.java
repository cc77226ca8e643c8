package dev.strata.wal;

import dev.strata.api.StorageException;
import dev.strata.wal.spi.WriteBackend;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Submits sealed groups to the write backend and turns their completions into durable, ordered
 * acknowledgements: the writes in flight, the durable end, the failed state, and the writer
 * thread's loop ({@link #runWriter}).
 *
 * <p>Submission: whichever thread finds a free in-flight slot (an appender, or the backend thread
 * reporting a completion) takes the next groups under the lock ({@link #takeSubmittable}) and
 * submits them after releasing it, so the latency path has no thread hand-off. With a rate limit
 * only the writer thread submits (it may park waiting for tokens). With callerWritesWhenIdle an
 * appender that finds no write in flight takes the group itself ({@link #takeIdleWrite}, registered
 * in flight like any write), writes it synchronously through the backend's {@code writeNow},
 * reports it like a completion and runs the callbacks before its append returns.
 *
 * <p>Completion: futures complete only for the contiguous prefix of finished groups
 * ({@code durableEnd}): a later group finishing first waits for the earlier ones. Completions are
 * queued in order under the lock into the {@link CompletionQueue} and run without it by the thread
 * that reported the write, if it may run callbacks: never an appending thread (it may hold the
 * caller's locks, which the callbacks take), except one that wrote its own group; a completion
 * reported on an appending thread (a failure inside submit) wakes the writer thread to run them.
 * Every write carries the durable end known when it is submitted (stamped under the lock in
 * {@link #startWrite}): recovery uses it to tell acknowledged data lost inside the log from a torn
 * tail (see {@link WalRecordDescriptor}).
 *
 * <p>Failure: the first failed or short write, or failed header write, sets {@code failure}.
 * Groups submitted before the failed one still complete normally (durable and ordered earlier);
 * the failed group and every later one (in flight, sealed or open) fail with a non-retriable
 * {@link StorageException}, as do pending trims. The state stays failed.
 *
 * <p>Concurrency: every mutable field below is guarded by the WAL's lock ({@code lock}); methods
 * say whether they hold it. No I/O and no callback runs under the lock. The fields carry
 * {@code // guarded by: lock} comments, not {@code @GuardedBy}: Error Prone cannot tie the lock
 * BlockDeviceWal holds when it calls in ({@code BlockDeviceWal.lock}) to an expression of this class.
 */
final class WriteDispatch {
    private static final Logger LOG = LoggerFactory.getLogger(BlockDeviceWal.class);

    private final Path path;
    private final WriteBackend backend;
    private final long dataOffset;
    private final long capacity;
    private final ReentrantLock lock;
    private final Condition writerWake;
    private final Condition roomChanged;
    private final GroupCommit groups;
    private final DurableHeader header;
    private final CompletionQueue completions;
    private final TokenBucket opsLimit;
    private final TokenBucket bytesLimit;
    private final boolean rateLimited;
    private final boolean callerWrites;

    private final ArrayDeque<WriteGroup> inFlight = new ArrayDeque<>(); // guarded by: lock; submission order
    private int ioInFlight; // guarded by: lock
    private long durableEnd; // guarded by: lock
    private StorageException failure; // guarded by: lock
    private long failedSequence = Long.MAX_VALUE; // guarded by: lock
    private boolean closing; // guarded by: lock
    private long callerWriteCount; // guarded by: lock; writes made by appending threads (callerWritesWhenIdle)

    WriteDispatch(Path path, WriteBackend backend, long dataOffset, long capacity, ReentrantLock lock,
            Condition writerWake, Condition roomChanged, GroupCommit groups, DurableHeader header,
            CompletionQueue completions, WalOptions options) {
        this.path = path;
        this.backend = backend;
        this.dataOffset = dataOffset;
        this.capacity = capacity;
        this.lock = lock;
        this.writerWake = writerWake;
        this.roomChanged = roomChanged;
        this.groups = groups;
        this.header = header;
        this.completions = completions;
        this.opsLimit = options.maxWriteOpsPerSecond() > 0
                ? new TokenBucket(options.maxWriteOpsPerSecond(), System::nanoTime) : null;
        this.bytesLimit = options.maxWriteBytesPerSecond() > 0
                ? new TokenBucket(options.maxWriteBytesPerSecond(), System::nanoTime) : null;
        this.rateLimited = opsLimit != null || bytesLimit != null;
        this.callerWrites = options.callerWritesWhenIdle() && !rateLimited && backend.canWriteNow();
    }

    /** Whether appends write themselves when the WAL is idle (asked for, and the backend can). */
    boolean callerWrites() {
        return callerWrites;
    }

    /** The log is durable up to {@code end} (found by recovery). Holds: lock. */
    void start(long end) {
        durableEnd = end;
    }

    /** End of the contiguous durable prefix. Holds: lock. */
    long durableEnd() {
        return durableEnd;
    }

    /** The failure the WAL is in, or null. Holds: lock. */
    StorageException failure() {
        return failure;
    }

    /** Whether close began. Holds: lock. */
    boolean closing() {
        return closing;
    }

    /** Whether every write completed and none failed: nothing left to wait for. Holds: lock. */
    boolean drainedCleanly() {
        return failure == null && inFlight.isEmpty();
    }

    /** Writes made by appending threads themselves. Holds: lock. */
    long callerWriteCount() {
        return callerWriteCount;
    }

    /** Starts closing: the writer thread drains and stops; room waiters return. Holds: lock. */
    void beginClose() {
        closing = true;
        writerWake.signal();
        roomChanged.signalAll();
    }

    /** After an append was placed: under rate limits the writer thread submits. Holds: lock. */
    void appended() {
        if (rateLimited && ioInFlight < backend.maxInFlight()) {
            writerWake.signal();
        }
    }

    /**
     * Without rate limits, the thread that finds a free in-flight slot (an appender, or the thread
     * reporting a completion) seals and submits the next group itself: no hand-off to the writer
     * thread on the latency path. Returns the groups to submit once the lock is released, already
     * registered in flight in sequence order. Holds: lock.
     */
    List<WriteGroup> takeSubmittable() {
        if (rateLimited || failure != null) {
            return List.of();
        }
        List<WriteGroup> ready = null;
        while (ioInFlight < backend.maxInFlight()) {
            WriteGroup g = groups.next();
            if (g == null) {
                break;
            }
            startWrite(g);
            if (ready == null) {
                ready = new ArrayList<>(2);
            }
            ready.add(g);
        }
        return ready == null ? List.of() : ready;
    }

    /**
     * callerWritesWhenIdle: when no write is in flight or waiting, seals the open group and
     * registers it in flight for the calling thread to write ({@link #writeOnCaller}); else null.
     * Holds: lock.
     */
    WriteGroup takeIdleWrite() {
        if (!callerWrites || failure != null || ioInFlight > 0) {
            return null;
        }
        WriteGroup g = groups.nextIfOnlyOpen();
        if (g == null) {
            return null;
        }
        startWrite(g);
        callerWriteCount++;
        return g;
    }

    /**
     * Registers {@code g} in flight, in sequence order, and stamps the durable end known now into
     * its records: recovery uses it to tell lost acknowledged data from a torn tail (see
     * {@link WalRecordDescriptor}). Holds: lock.
     */
    private void startWrite(WriteGroup g) {
        g.stampDurableMark(durableEnd);
        ioInFlight++;
        inFlight.add(g);
    }

    /** Where {@code g}'s write starts on the device. */
    private long deviceOffset(WriteGroup g) {
        return dataOffset + g.start % capacity;
    }

    /**
     * Submits groups taken by {@link #takeSubmittable()}; without the lock. {@code mayRunCallbacks}:
     * whether this thread may run callbacks (false on appending threads).
     */
    void submitAll(List<WriteGroup> ready, boolean mayRunCallbacks) {
        for (WriteGroup g : ready) {
            submit(g, mayRunCallbacks);
        }
    }

    /** callerWritesWhenIdle: writes {@code g} on this thread, then reports it and runs the callbacks; without the lock. */
    void writeOnCaller(WriteGroup g) {
        long offset = deviceOffset(g);
        long written = 0;
        IOException error = null;
        try {
            written = backend.writeNow(offset, g.writeView());
        } catch (IOException e) {
            error = e;
        } catch (RuntimeException e) {
            error = new IOException("write failed: " + e, e);
        }
        onWriteComplete(g, offset, written, error, true);
    }

    /** Runs without the lock, on the thread that took {@code g}. */
    private void submit(WriteGroup g, boolean mayRunCallbacks) {
        if (opsLimit != null) {
            opsLimit.acquire(1);
        }
        if (bytesLimit != null) {
            bytesLimit.acquire(g.writeLength());
        }
        long offset = deviceOffset(g);
        Thread submitter = Thread.currentThread();
        try {
            backend.submit(offset, g.writeView(), (written, error) -> onWriteComplete(g, offset, written, error,
                    mayRunCallbacks || Thread.currentThread() != submitter));
        } catch (RuntimeException e) {
            onWriteComplete(g, offset, 0, new IOException("submit failed: " + e, e), mayRunCallbacks);
        }
    }

    /**
     * Runs on a backend thread, inside {@code submit} on the submitting thread (an immediate
     * failure), or on an appender that wrote its own group; {@code mayRunCallbacks} says whether
     * this thread may run callbacks. Takes the lock.
     */
    private void onWriteComplete(WriteGroup g, long offset, long written, IOException error, boolean mayRunCallbacks) {
        List<WriteGroup> ready;
        lock.lock();
        try {
            ioInFlight--;
            g.done = true;
            if (error == null && written != g.writeLength()) {
                error = new IOException("short write: offset=" + offset + " length=" + g.writeLength() + " written="
                        + written);
            }
            if (error != null) {
                g.error = error;
                fail(new StorageException("WAL write failed: file=" + path + " position=" + g.start
                        + " offset=" + offset + " length=" + g.writeLength() + " error=" + error.getMessage(), false,
                        error), g.sequence);
            }
            groups.release(g.buffer);
            advance();
            ready = takeSubmittable();
            if (rateLimited || closing || failure != null || header.trimPending()
                    || (!mayRunCallbacks && !completions.isEmpty())) {
                writerWake.signal();
            }
        } finally {
            lock.unlock();
        }
        submitAll(ready, mayRunCallbacks);
        if (mayRunCallbacks) {
            completions.run();
        }
    }

    /** Completes the futures of the contiguous prefix of finished groups, in order. Holds: lock. */
    private void advance() {
        List<Runnable> done = new ArrayList<>();
        while (!inFlight.isEmpty() && inFlight.peek().done) {
            WriteGroup g = inFlight.poll();
            if (g.sequence < failedSequence && g.error == null) {
                durableEnd = g.nextPosition();
                g.succeed(done);
            } else {
                g.fail(failure, done);
            }
        }
        if (failure != null && inFlight.isEmpty()) {
            groups.failAll(failure, done);
        }
        completions.add(done);
    }

    /** Enters the failed state (once); groups from {@code sequence} on fail. Holds: lock. */
    private void fail(StorageException e, long sequence) {
        failedSequence = Math.min(failedSequence, sequence);
        if (failure == null) {
            failure = e;
            LOG.error("WAL failed, rejecting all further appends: file={} error={}", path, e.getMessage());
            header.failPending(e);
        }
        advance();
        writerWake.signal();
        roomChanged.signalAll(); // waiters return: appends now fail for good
    }

    /**
     * The writer thread ("strata-wal-N"): writes trim headers, submits under rate limits, runs
     * callbacks reported on threads that may not, and drains at close. Holds the lock except during
     * I/O, submission and callbacks.
     */
    void runWriter() {
        lock.lock();
        try {
            while (true) {
                if (failure == null && header.trimPending()) {
                    StorageException e = header.writeTrim();
                    if (e != null) {
                        fail(e, Long.MIN_VALUE);
                    }
                    continue;
                }
                if (failure == null && ioInFlight < backend.maxInFlight()) {
                    WriteGroup g = groups.next();
                    if (g != null) {
                        startWrite(g);
                        lock.unlock();
                        try {
                            submit(g, true);
                        } finally {
                            lock.lock();
                        }
                        continue;
                    }
                }
                // another thread running callbacks takes these too (it drains until the queue is empty)
                if (completions.waitingForRunner()) {
                    lock.unlock();
                    try {
                        completions.run();
                    } finally {
                        lock.lock();
                    }
                    continue;
                }
                if (closing && inFlight.isEmpty() && (failure != null || (!groups.hasUnwritten()
                        && !header.trimPending()))) {
                    return;
                }
                writerWake.awaitUninterruptibly();
            }
        } catch (Throwable t) {
            LOG.error("WAL writer thread died: file={}", path, t);
            fail(new StorageException("WAL writer thread died: file=" + path, false, t), Long.MIN_VALUE);
        } finally {
            lock.unlock();
        }
        completions.run();
    }
}
