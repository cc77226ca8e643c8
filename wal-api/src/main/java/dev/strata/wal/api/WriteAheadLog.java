package dev.strata.wal.api;

import io.netty.buffer.ByteBuf;
import java.util.concurrent.CompletableFuture;

/**
 * A durable, ordered log of opaque records addressed by logical byte positions, with space
 * reclaimed from the front by {@link #trim}: the SPI the engine appends to, trims and replays.
 * Implementations: {@code BlockDeviceWal} (module wal-blockdevice: a ring on a block device or
 * preallocated file) and an object-store WAL (records gathered into objects). Every implementation
 * passes the contract kit {@code WriteAheadLogContractTest} (this module's test-jar).
 *
 * <p>Life cycle, as the engine drives it: open (by a {@link WalFactory}); {@link #assignNodeEpoch}
 * once the owner registered with its metadata; {@link #recover()} iterated to its end (the one scan
 * of the log, which also tells the WAL where to write); then appends and trims; {@link #close()}.
 *
 * <p>Ownership: one owner appends to a log at a time. An implementation either refuses a second open
 * while the first is open (a lock: the block-device WAL's {@code OwnershipLock}) or fences the
 * earlier owner once a later one with a higher node epoch took the log over: then the earlier
 * owner's appends fail with {@link dev.strata.api.StreamFencedException}, and nothing it appends
 * after that is ever recovered.
 *
 * <p>Thread-safety: all methods may be called from any thread. Futures complete in append order,
 * on the thread that learned of the write's outcome (an I/O completion thread or the WAL's own
 * thread; an implementation may also complete on the appending thread, before its {@code append}
 * returns, and says so), never while the WAL holds its lock. Callbacks must therefore be short and
 * must not block (they delay every later completion) and must not call {@link #close} (it may wait
 * for the thread running them); they may call {@link #append} and {@link #trim}.
 *
 * <p>Failure: futures fail with {@link dev.strata.api.BackpressureException} (WAL full or no write
 * buffer free; nothing was written, retry later, e.g. after {@link #awaitRoom}),
 * {@link dev.strata.api.RecordTooLargeException} (can never fit: larger than {@link #maxRecordBytes()}),
 * {@link dev.strata.api.StreamFencedException} (a newer owner took the log over) or
 * {@link dev.strata.api.StorageException} (I/O error or closed WAL). A refusal for which nothing was
 * written (no room, too large, closed, fenced) comes back as a future already failed when
 * {@code append} returns: the engine then fails that append alone and does not take its offsets; a
 * failure reported later means the write was attempted, and the engine fails the stream's later
 * appends with it. After an I/O error the WAL is failed: every pending and later append fails with a
 * non-retriable {@code StorageException}, and nothing that was not made durable is reported as
 * durable.
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
     * or {@code timeoutNanos} passed. Room means what {@link #append} checks, by the same rule (for
     * the block-device WAL: a write buffer free, or room in the group being filled, and space in the
     * ring before the trim point). Wakes when a write completes or a trim becomes durable; returns at
     * once when an append would fail for another reason (failed, fenced or closed WAL, record too
     * large), so that the append reports it. Another thread may take the
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
     * {@link RecoveryReport#lostRegions()} with {@link RecoveryReport.StopReason#ACKNOWLEDGED_DATA_LOST}).
     * The first call, made before any append, is the WAL's one scan of the log: when it has been iterated to the end, the WAL
     * knows where to write (appends made earlier scan the log themselves, and a later call reads
     * the same records again). The caller owns each returned record's body and must release it.
     */
    WalRecovery recover();

    /**
     * The node epoch of this WAL's owner, given once it registered with its metadata (which fences
     * earlier owners there): recorded with what this WAL writes from now on (the block-device WAL in
     * its header, the object-store WAL in each object), and, for an implementation that fences by
     * node epoch, the epoch that fences owners with a lower one. Called at most once, before the
     * first {@link #recover()}, {@link #append} or {@link #trim}; an implementation may do I/O here.
     *
     * @throws IllegalStateException if the WAL has initialized already (recovered, appended or trimmed)
     * @throws dev.strata.api.StreamFencedException if a newer owner (a higher epoch) holds the log
     * @throws dev.strata.api.StorageException if the epoch cannot be recorded
     */
    void assignNodeEpoch(long nodeEpoch);

    /** Largest body {@link #append} accepts; larger ones fail with {@code RecordTooLargeException}. */
    int maxRecordBytes();

    /**
     * What the recovery scan found: records, bytes, why it ended, torn bytes. Scans the log if
     * {@link #recover()} was not iterated to its end first.
     */
    RecoveryReport recoveryReport();

    /**
     * Bytes of log the WAL holds between its trim point and its end at most: a ring's size, or the
     * bound an unbounded medium sets itself (appends beyond it fail with
     * {@code BackpressureException} until a trim).
     */
    long capacity();

    /** Bytes between the trim point and the next write position (including any padding). */
    long used();

    /** {@code capacity() - used()}; an append needs its record size plus framing. */
    long free();

    /** Position the next write starts at (everything below it was accepted; not all is durable yet). */
    long writePosition();

    /**
     * Most direct memory this WAL holds: its write buffers for as long as it is open, and the read
     * buffers of recovery (finding the log's end, then {@link #recover()}), which are dropped after
     * the scan. Part of a store's memory budget.
     */
    long directMemoryBytes();

    /**
     * Which implementation and I/O path carry the writes, for logs and metrics: the block-device
     * WAL's {@code "pwritev2"}, {@code "io_uring"}, {@code "filechannel-direct"} or
     * {@code "filechannel-buffered"}, or
     * another implementation's own short name.
     */
    String backend();

    /**
     * Stops accepting appends, waits for accepted ones to complete, and releases threads, buffers
     * and files or connections. Appends after close fail with a non-retriable {@code StorageException}.
     * Idempotent.
     */
    @Override
    void close();
}
