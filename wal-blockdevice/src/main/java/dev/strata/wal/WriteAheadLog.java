package dev.strata.wal;

import io.netty.buffer.ByteBuf;
import java.util.concurrent.CompletableFuture;

/**
 * A durable, ordered log of opaque records addressed by logical byte positions, with space
 * reclaimed from the front by {@link #trim}. The interface the engine uses; {@link BlockDeviceWal}
 * implements it on a block device or preallocated file.
 *
 * <p>Thread-safety: all methods may be called from any thread. Futures complete in append order,
 * on the thread that learned of the write's outcome (an I/O completion thread or the WAL's writer
 * thread), never while the WAL holds its lock and never on an appending thread; with
 * {@link WalOptions.Builder#callerWritesWhenIdle}, also on an appending thread that wrote its own
 * group, before its {@code append} returns. Callbacks must therefore be short and must not block
 * (they delay every later completion) and must not call {@link #close} (it waits for the thread
 * running them); they may call {@link #append} and {@link #trim}, and an appending thread may hold
 * locks that callbacks take (unless it uses {@code callerWritesWhenIdle}).
 *
 * <p>Failure: futures fail with {@link dev.strata.api.BackpressureException} (WAL full or every write
 * buffer in use; nothing was written, retry later, e.g. after {@link #awaitRoom}), {@link dev.strata.api.RecordTooLargeException}
 * (can never fit) or {@link dev.strata.api.StorageException} (I/O error or closed WAL). After an
 * I/O error the WAL is failed: every pending and later append fails with a non-retriable
 * {@code StorageException}, and nothing that was not made durable is reported as durable.
 */
public interface WriteAheadLog extends AutoCloseable {

    /**
     * Appends {@code body} (its readable bytes) as one record. Takes ownership of {@code body} and
     * releases it on every outcome, including when this method throws.
     *
     * @return completes, in append order, once the record is durable, with its position and the
     *     position where the next record starts (use that as a {@link #trim} point)
     */
    CompletableFuture<WalAppendResult> append(ByteBuf body);

    /**
     * Waits until an append of a body of {@code bodyBytes} would not be refused for lack of room,
     * or {@code timeoutNanos} passed. Room means what {@link #append} checks, by the same rule: a
     * write buffer free (or room in the group being filled) and space in the ring before the trim
     * point, the padding at the end of a lap included. Wakes when a write completes or a trim
     * becomes durable; returns at once when an append would fail for another reason (failed or
     * closed WAL, record too large), so that the append reports it. Another thread may take the
     * room before the caller appends: callers retry, and wait again, until their own deadline.
     * Holds no lock while the caller waits other than the WAL's own; callers must hold none that
     * the WAL's completions need.
     *
     * @return whether an append of {@code bodyBytes} would be admitted now (or fail for a reason
     *     other than room); false if the timeout passed first
     * @throws InterruptedException if the thread is interrupted while waiting
     * @throws IllegalArgumentException if {@code bodyBytes < 0}
     */
    boolean awaitRoom(int bodyBytes, long timeoutNanos) throws InterruptedException;

    /**
     * Wakes every thread waiting in {@link #awaitRoom} now: each returns {@code true}, and its caller
     * retries and re-checks its own reasons to go on (an engine that is closing fails the append).
     */
    void wakeRoomWaiters();

    /**
     * Declares everything before {@code position} no longer needed, so its space can be reused.
     * {@code position} must be a record boundary: a {@link WalAppendResult#nextPosition()} (or
     * {@link WalRecord#nextPosition()}) of a durable record; a position at or below the current
     * trim point is ignored.
     *
     * @return completes once the new trim point is durable (space is reused only after that)
     * @throws IllegalArgumentException if {@code position} is beyond the durable end
     */
    CompletableFuture<Void> trim(long position);

    /**
     * Every durable record after the trim point, in order, as of open, except those in regions
     * found damaged after they were acknowledged (skipped, and listed in
     * {@link RecoveryReport#lostRegions()} with {@link RecoveryReport.StopReason#ACKNOWLEDGED_DATA_LOST}). The first call, made before
     * any append, is the WAL's one scan of the log: when it has been iterated to the end, the WAL
     * knows where to write (appends made earlier scan the log themselves, and a later call reads
     * the same records again). The caller owns each returned record's body and must release it.
     */
    WalRecovery recover();

    /**
     * What the recovery scan found: records, bytes, why it ended, torn bytes. Scans the log if
     * {@link #recover()} was not iterated to its end first.
     */
    RecoveryReport recoveryReport();

    /** Bytes of the data ring. */
    long capacity();

    /** Bytes between the trim point and the next write position (including padding). */
    long used();

    /** {@code capacity() - used()}; an append needs its record size plus framing. */
    long free();

    /** Position the next write starts at (everything below it was accepted; not all is durable yet). */
    long writePosition();

    /**
     * Most direct memory this WAL holds: its write buffers for as long as it is open, and the read
     * buffers of recovery (finding the log's end, then {@link #recover()}), which are dropped after
     * the scan and freed by the garbage collector. Part of a store's memory budget.
     */
    long directMemoryBytes();

    /** Which I/O backend carries the writes: {@code "io_uring"}, {@code "filechannel-direct"} or {@code "filechannel-buffered"}. */
    String backend();

    /**
     * Stops accepting appends, waits for accepted ones to complete, and releases threads, buffers
     * and the file. Appends after close fail with a non-retriable {@code StorageException}.
     * Idempotent.
     */
    @Override
    void close();
}
