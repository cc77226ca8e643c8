package dev.strata.wal;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.strata.api.CorruptDataException;
import dev.strata.api.RecordTooLargeException;
import dev.strata.api.StorageException;
import dev.strata.wal.api.RecoveryReport;
import dev.strata.wal.api.WalAppendResult;
import dev.strata.wal.api.WalRecovery;
import dev.strata.wal.api.WriteAheadLog;
import dev.strata.wal.spi.WriteBackend;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link WriteAheadLog} on a block device or a preallocated file: a ring of records (see
 * {@link WalRecordDescriptor}) after two alternating header slots (see {@link WalHeaderDescriptor}),
 * written with O_DIRECT through pwritev2, io_uring or a {@code FileChannel}, with group commit.
 *
 * <p>Thread-safety: thread-safe. Futures complete in append order, on the thread that learned of
 * the write's outcome (see {@link WriteAheadLog}): an I/O completion thread or the WAL's writer
 * thread; with {@link WalOptions.Builder#callerWritesWhenIdle}, also an appending thread that wrote
 * its own group, before its {@code append} returns (an appending thread that holds locks callbacks
 * take must then not use it).
 *
 * <p>Ownership: one open per file or device on a host, by its {@link OwnershipLock} (a second open
 * fails with {@link dev.strata.api.StorageInUseException}); no fencing by node epoch.
 *
 * <p>Failure: see {@link WriteAheadLog}. {@link #open} fails with {@link StorageException} if the
 * file cannot be opened or read, with {@link UnsupportedWalFormatException} (a
 * {@code StorageException}) if the WAL was written in another format version, and with
 * {@link CorruptDataException} if neither header slot is valid on a file that is not blank.
 */
public final class BlockDeviceWal implements WriteAheadLog {

    /*
     * Design
     *
     * This class is the facade: the public API and close. The jobs behind it, one class each:
     *   WalOpener       backend selection, file open, header read (HeaderSlots: the two slots)
     *   WalStartup      the one scan that finds the log's end, then the new generation's header
     *   GroupCommit     the buffer pool, the group being filled, sealed groups; admission and backpressure
     *   WriteDispatch   submission, completion ordering (the durable prefix), failure, the writer thread
     *   CompletionQueue runs the futures' completions in order, outside the lock
     *   DurableHeader   the last durable header: trims and the clean-close mark
     *
     * Concurrency: one ReentrantLock `lock` guards the mutable state of this class, GroupCommit,
     * WriteDispatch and DurableHeader (@GuardedBy("lock") here; comments "guarded by: lock" in the
     * others, where Error Prone cannot name this class's lock); their methods say whether
     * they hold it. Appending threads encode their record straight into the open group's pooled
     * aligned buffer under the lock (one copy; the body CRC is computed before taking it) and release
     * the caller's ByteBuf. The thread that finds a free in-flight slot submits after releasing the
     * lock, so the latency path has no thread hand-off (see WriteDispatch). A writer thread
     * ("strata-wal-N") writes header updates (trim), drains at close, and submits instead when a rate
     * limit is configured. No I/O and no user callback runs under the lock. Initialization has its
     * own monitor (WalStartup.initLock), never taken while holding `lock`.
     *
     * Durability: a group is durable when its write completed (O_DIRECT + fdatasync, or RWF_DSYNC);
     * futures complete only for the contiguous prefix of durable groups. The trim point is made
     * durable before any space below it is reused (DurableHeader). Each open writes a header with a
     * new generation first. unsafeSkipSync skips the data sync only (documented as unsafe).
     *
     * Failure: the first failed write or header write fails the WAL for good (WriteDispatch); the
     * engine reopens it, and recovery decides what is durable.
     *
     * Backpressure: an append that does not fit before the durable trim point plus capacity, or that
     * finds every pooled buffer in use, fails at once with BackpressureException (GroupCommit). Memory
     * is bounded by (maxInFlight + 2) write buffers plus one scan buffer during recovery. Callers that
     * want to wait use awaitRoom: GroupCommit.admits runs place's steps on copies of the state, and
     * `roomChanged` is signalled wherever that answer can turn: a buffer back in the pool, a durable
     * trim, failure and close.
     */

    private static final Logger LOG = LoggerFactory.getLogger(BlockDeviceWal.class);
    private static final AtomicInteger IDS = new AtomicInteger();

    private final WalOptions options;
    private final WalFile file;
    private final WriteBackend backend;
    private final int blockSize;
    private final long capacity;
    private final long dataOffset;
    private final int maxRecordBytes;
    private final WalStartup startup;
    private final Thread writer;

    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when an append may be admitted where it was refused; see {@link #awaitRoom}. */
    private final Condition roomChanged = lock.newCondition();
    @GuardedBy("lock")
    private long roomWakeCalls; // calls of wakeRoomWaiters, so that a woken waiter returns
    @GuardedBy("lock")
    private boolean closed;
    private final CompletionQueue completions;
    private final GroupCommit groups;
    private final DurableHeader header;
    private final WriteDispatch dispatch;

    BlockDeviceWal(WalOptions options, WalFile file, WriteBackend backend, WalHeader header,
            RecordScanner.Params scanParams, int maxRecordBytes) {
        this.options = options;
        this.file = file;
        this.backend = backend;
        this.blockSize = header.blockSize();
        this.capacity = header.capacity();
        this.dataOffset = WalHeaderDescriptor.dataOffset(blockSize);
        this.maxRecordBytes = maxRecordBytes;
        Condition writerWake = lock.newCondition();
        this.completions = new CompletionQueue(file.path());
        this.groups = new GroupCommit(file.path(), blockSize, capacity, options.writeBufferBytes(),
                backend.maxInFlight() + 2, options.groupCommitBytes(), roomChanged);
        this.header = new DurableHeader(file, header, lock, writerWake, roomChanged, completions);
        this.dispatch = new WriteDispatch(file.path(), backend, dataOffset, capacity, lock, writerWake, roomChanged,
                groups, this.header, completions, options);
        this.startup = new WalStartup(options, file, header, scanParams, maxRecordBytes, this::checkNotClosed,
                this::startAt);
        this.writer = new Thread(dispatch::runWriter, "strata-wal-" + IDS.getAndIncrement());
        this.writer.setDaemon(true);
    }

    /**
     * Opens (creating and preallocating if absent) the WAL at {@code options.path()} and reads its
     * header. The log itself is scanned once: by the first {@link #recover()} iterated to its end,
     * or else by the first call that needs to know where the log ends (append, trim, report).
     *
     * @throws StorageException the file cannot be created, opened, read or its header written
     * @throws UnsupportedWalFormatException the WAL was written in another format version
     * @throws CorruptDataException neither header slot is valid and the slots are not blank
     */
    public static BlockDeviceWal open(WalOptions options) {
        return WalOpener.open(options, UnaryOperator.identity());
    }

    /** As {@link #open(WalOptions)}, with the write backend wrapped (fault injection in tests). */
    static BlockDeviceWal open(WalOptions options, UnaryOperator<WriteBackend> wrapBackend) {
        return WalOpener.open(options, wrapBackend);
    }

    /** Why the io_uring backend cannot run in this JVM, or empty if it can. */
    static Optional<String> uringUnavailableReason() {
        return WalOpener.uringUnavailableReason();
    }

    /** Why the pwritev2 backend cannot run in this JVM, or empty if it can. */
    static Optional<String> pwriteUnavailableReason() {
        return WalOpener.pwriteUnavailableReason();
    }

    // ---------------------------------------------------------------- initialization

    /** {@link WalStartup}'s closed check: a WAL closed before it initialized never writes a header. */
    private void checkNotClosed() {
        lock.lock();
        try {
            if (closed) {
                throw new StorageException("WAL closed: file=" + file.path(), false);
            }
        } finally {
            lock.unlock();
        }
    }

    /** {@link WalStartup}'s last step: the new generation's header is durable; writing starts at {@code end}. */
    private void startAt(long end, ByteBuffer tail, WalHeader next) {
        lock.lock();
        try {
            header.started(next);
            dispatch.start(end);
            groups.start(end, tail, next.generation());
        } finally {
            lock.unlock();
        }
        writer.start();
    }

    /**
     * The node epoch this WAL records in its header when it initializes (at the first append, trim or
     * recovery scan), in place of {@link WalOptions#nodeEpoch()}: for an owner that opens its WAL
     * before it registers with its metadata, so that a WAL it cannot use fails its open before
     * anything else changes. No I/O here, and no fencing: the {@link OwnershipLock} keeps a second
     * owner out while this one has the WAL open.
     *
     * @throws IllegalStateException if the WAL has initialized already
     */
    @Override
    public void assignNodeEpoch(long nodeEpoch) {
        startup.assignNodeEpoch(nodeEpoch);
    }

    // ---------------------------------------------------------------- append path

    @Override
    public CompletableFuture<WalAppendResult> append(ByteBuf body) {
        try {
            try {
                startup.ensureReady();
            } catch (StorageException e) {
                return CompletableFuture.failedFuture(e);
            }
            int length = body.readableBytes();
            if (length > maxRecordBytes) {
                return CompletableFuture.failedFuture(new RecordTooLargeException(length, maxRecordBytes));
            }
            int crc = crc32c(body);
            CompletableFuture<WalAppendResult> future = new CompletableFuture<>();
            RuntimeException rejected;
            WriteGroup own = null;
            List<WriteGroup> submittable = List.of();
            lock.lock();
            try {
                rejected = place(body, crc, future);
                if (rejected == null) {
                    dispatch.appended();
                    own = dispatch.takeIdleWrite();
                    submittable = own == null ? dispatch.takeSubmittable() : List.of();
                }
            } finally {
                lock.unlock();
            }
            if (own != null) {
                dispatch.writeOnCaller(own);
            } else {
                dispatch.submitAll(submittable, false);
            }
            return rejected == null ? future : CompletableFuture.failedFuture(rejected);
        } finally {
            body.release();
        }
    }

    private static int crc32c(ByteBuf body) {
        CRC32C crc = new CRC32C();
        if (body.nioBufferCount() == 1) {
            crc.update(body.nioBuffer());
        } else {
            for (ByteBuffer b : body.nioBuffers()) {
                crc.update(b);
            }
        }
        return (int) crc.getValue();
    }

    /** Places the record into the open group; returns the rejection, or null. Holds: lock. */
    @GuardedBy("lock")
    private RuntimeException place(ByteBuf body, int crc, CompletableFuture<WalAppendResult> future) {
        StorageException failure = dispatch.failure();
        if (failure != null) {
            return new StorageException("WAL failed earlier: file=" + file.path() + " cause=" + failure.getMessage(),
                    false, failure);
        }
        if (dispatch.closing()) {
            return new StorageException("WAL closed: file=" + file.path(), false);
        }
        return groups.place(body, crc, future, header.trimPosition());
    }

    @Override
    public boolean awaitRoom(int bodyBytes, long timeoutNanos) throws InterruptedException {
        if (bodyBytes < 0) {
            throw new IllegalArgumentException("bodyBytes must be >= 0, got " + bodyBytes);
        }
        try {
            startup.ensureReady();
        } catch (StorageException e) {
            return true; // an append fails for this reason, not for lack of room
        }
        if (bodyBytes > maxRecordBytes) {
            return true; // an append fails with RecordTooLargeException: waiting cannot help
        }
        long encoded = WalRecordDescriptor.encodedLength(bodyBytes);
        long remaining = timeoutNanos;
        lock.lockInterruptibly();
        try {
            long wakeCall = roomWakeCalls;
            while (dispatch.failure() == null && !dispatch.closing() && wakeCall == roomWakeCalls
                    && !groups.admits(encoded, header.trimPosition())) {
                if (remaining <= 0) {
                    return false;
                }
                remaining = roomChanged.awaitNanos(remaining);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void wakeRoomWaiters() {
        lock.lock();
        try {
            roomWakeCalls++;
            roomChanged.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Whether appends write themselves when the WAL is idle: callerWritesWhenIdle asked for, and the
     * backend can (pwritev2, or io_uring with a libc that has pwritev2). For tests and diagnostics.
     */
    boolean callerWritesEnabled() {
        return dispatch.callerWrites();
    }

    /** Writes made by appending threads themselves (callerWritesWhenIdle); for tests and diagnostics. */
    long callerWriteCount() {
        lock.lock();
        try {
            return dispatch.callerWriteCount();
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- trim, recovery, state

    @Override
    public CompletableFuture<Void> trim(long position) {
        try {
            startup.ensureReady();
        } catch (StorageException e) {
            return CompletableFuture.failedFuture(e);
        }
        lock.lock();
        try {
            StorageException failure = dispatch.failure();
            if (failure != null) {
                return CompletableFuture.failedFuture(new StorageException("WAL failed earlier: file=" + file.path(),
                        false, failure));
            }
            if (dispatch.closing()) {
                return CompletableFuture.failedFuture(new StorageException("WAL closed: file=" + file.path(), false));
            }
            return header.requestTrim(position, dispatch.durableEnd());
        } finally {
            lock.unlock();
        }
    }

    @Override
    public WalRecovery recover() {
        return startup.recover();
    }

    @Override
    public RecoveryReport recoveryReport() {
        return startup.report();
    }

    @Override
    public long capacity() {
        return capacity;
    }

    @Override
    public long used() {
        startup.ensureReady();
        lock.lock();
        try {
            return groups.writePosition() - header.trimPosition();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public long free() {
        return capacity - used();
    }

    @Override
    public long writePosition() {
        startup.ensureReady();
        lock.lock();
        try {
            return groups.writePosition();
        } finally {
            lock.unlock();
        }
    }

    /** Largest body {@link #append} accepts: what one write buffer holds after the record's framing. */
    @Override
    public int maxRecordBytes() {
        return maxRecordBytes;
    }

    @Override
    public long directMemoryBytes() {
        // each aligned buffer carries up to one block of slack for its alignment
        long writeBuffers = (long) (backend.maxInFlight() + 2) * (options.writeBufferBytes() + blockSize);
        long scans = 2L * (RecordScanner.bufferBytes(blockSize, maxRecordBytes) + blockSize);
        // plus the short-lived ones: the zeros that preallocate a new file, and header writes
        return writeBuffers + scans + WalFile.PREALLOCATE_CHUNK_BYTES + blockSize + 4L * blockSize;
    }

    @Override
    public String backend() {
        return backend.name();
    }

    /** Block size all writes are aligned to (at least the device's logical block size). */
    public int blockSize() {
        return blockSize;
    }

    /** Whether the WAL is a whole block device (its size is the device's) rather than a file. */
    public boolean isBlockDevice() {
        return file.blockDevice();
    }

    /** Whether the WAL failed after an I/O error (every append then fails). */
    public boolean isFailed() {
        lock.lock();
        try {
            return dispatch.failure() != null;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            dispatch.beginClose();
        } finally {
            lock.unlock();
        }
        boolean interrupted = false;
        while (writer.isAlive()) {
            try {
                writer.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        writeClosedHeader();
        WalOpener.closeQuietly(backend);
        completions.run(); // nothing should be left; never leave a future behind
        WalOpener.closeQuietly(file);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        LOG.info("WAL closed: file={}", file.path());
    }

    /**
     * After the writer drained: records where the log ends in the header, so that the next
     * recovery knows the end without looking ahead (see {@link WalHeaderDescriptor}). Only when
     * every write completed and nothing failed; a failure to write it only costs the next open a
     * look-ahead over the ring.
     */
    private void writeClosedHeader() {
        if (!startup.isReady()) {
            return; // never initialized: the header on the device still describes the log
        }
        WalHeader next;
        lock.lock();
        try {
            if (!dispatch.drainedCleanly() || groups.hasUnwritten()) {
                return;
            }
            next = header.closedAt(dispatch.durableEnd());
        } finally {
            lock.unlock();
        }
        IOException e = header.writeClosed(next);
        if (e != null) {
            LOG.warn("WAL clean-close header not written, the next open scans the whole ring: file={} error={}",
                    file.path(), e.toString());
        }
    }
}
