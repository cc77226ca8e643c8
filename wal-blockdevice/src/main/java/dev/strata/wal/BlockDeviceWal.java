package dev.strata.wal;

import static dev.strata.wal.WalRecordDescriptor.HEADER_BYTES;

import dev.strata.api.BackpressureException;
import dev.strata.api.CorruptDataException;
import dev.strata.api.RecordTooLargeException;
import dev.strata.api.StorageException;
import dev.strata.wal.spi.WriteBackend;
import dev.strata.wal.spi.WriteBackendFactory;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.ServiceLoader;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
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
 * written with O_DIRECT through io_uring or a {@code FileChannel}, with group commit.
 *
 * <p>Thread-safety: thread-safe. Futures complete in append order, on the thread that learned of
 * the write's outcome (see {@link WriteAheadLog} and {@link WalOptions.Builder#callerWritesWhenIdle}).
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
     * Concurrency: one ReentrantLock `lock` guards all mutable state below (marked "guarded by:
     * lock"). Appending threads encode their record straight into the open group's pooled aligned
     * buffer under the lock (one copy, no scratch buffer; the body CRC is computed before taking
     * it) and release the caller's ByteBuf. Whichever thread finds a free in-flight slot (the
     * appender, or the backend thread reporting a completion) seals the open group and submits it
     * after releasing the lock, so the latency path has no thread hand-off. A writer thread
     * ("strata-wal-N") writes header updates (trim), drains at close, and submits instead when a
     * rate limit is configured (it may then park waiting for tokens). The backend reports
     * completions on its own threads; they update state under the lock. No I/O and no user
     * callback runs under the lock. The futures to complete go, in order and under the lock, into
     * `inlineQueue`, and the thread that reported the write (a backend thread, or
     * the writer thread) runs them after releasing the lock; one thread at a time (`inlineRunning`)
     * so they stay in order. Appending threads never run them (they may hold the caller's locks,
     * which the callbacks take: the engine's stream locks): a completion reported on an
     * appending thread (a failure inside submit) wakes the writer thread to run them instead.
     * The exception is callerWritesWhenIdle: an appender that finds no write in flight takes the
     * group itself (registered in flight like any write), writes it synchronously through the
     * backend's writeNow, reports it like a completion and runs the callbacks (its own future,
     * and those of later groups that finished meanwhile), all before append returns.
     *
     * Group commit: a group is sealed when an in-flight slot is free (so a lone append is written
     * at once), when it reaches groupCommitBytes, when the next record does not fit its
     * buffer, or when the lap ends. Records that arrive while writes are in flight therefore share
     * the next write. Each write is padded with zeros to the block size; the next group starts at
     * the next block boundary, so writes in flight never share a block.
     *
     * Durability: a group is durable when its write completed (O_DIRECT + fdatasync, or RWF_DSYNC).
     * Futures complete only for the contiguous prefix of durable groups (`durableEnd`): a later
     * group finishing first waits for the earlier ones. The trim point is made durable (header
     * write + sync) before any space below it is reused, so recovery never starts at a position
     * whose data was already overwritten. Each open writes a header with a new generation first.
     * Every write carries the durable end known when it is submitted (its records' durable mark,
     * stamped under the lock in startWrite): recovery uses it to tell acknowledged data lost inside
     * the log from a torn tail (see WalRecordDescriptor).
     * unsafeSkipSync skips the data sync only (documented as unsafe).
     *
     * Failure: the first failed or short write, or failed header write, sets `failure`. Groups
     * submitted before the failed one still complete normally (they are durable and ordered
     * earlier); the failed group and every later one (in flight, sealed or open) fail with a
     * non-retriable StorageException, as does every later append. The WAL stays failed; the
     * engine reopens it, and recovery decides what is durable.
     *
     * Backpressure: an append that does not fit between the write position and the durable trim
     * point plus capacity, or that finds every pooled buffer in use, fails at once with
     * BackpressureException; nothing is written and nothing untrimmed is overwritten. Memory is
     * bounded by (maxInFlight + 2) write buffers plus one scan buffer during recovery. Callers that
     * want to wait use awaitRoom: `admits` runs place's steps on copies of the state (so waiting
     * and admission are one rule, lap end included), and `roomChanged` is signalled wherever that
     * answer can turn: a buffer back in the pool (write completed, group dropped), a durable trim,
     * failure and close.
     */

    private static final Logger LOG = LoggerFactory.getLogger(BlockDeviceWal.class);
    private static final AtomicInteger IDS = new AtomicInteger();
    private static final AtomicBoolean FALLBACK_LOGGED = new AtomicBoolean();

    /** Backend names reported by {@link #backend()}. */
    static final String FILECHANNEL_DIRECT = "filechannel-direct";
    static final String FILECHANNEL_BUFFERED = "filechannel-buffered";
    static final String IO_URING = "io_uring";

    private final WalOptions options;
    private final WalFile file;
    private final WriteBackend backend;
    private final int blockSize;
    private final long capacity;
    private final long dataOffset;
    private final int maxRecordBytes;
    private final RecordScanner.Params scanParams;
    private final WalHeader recoveredHeader;
    private final Object initLock = new Object();
    /** Set once the log's end is known and the new generation's header is durable; see {@link #ensureReady}. */
    private volatile boolean ready;
    private RecoveryReport report; // written once under initLock before ready is set
    private OptionalLong assignedNodeEpoch = OptionalLong.empty(); // guarded by: initLock
    private final boolean callerWrites;
    /** Completions in dispatch order (added under the lock), run without it; see Design. */
    private final ConcurrentLinkedQueue<Runnable> inlineQueue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean inlineRunning = new AtomicBoolean();
    private final TokenBucket opsLimit;
    private final TokenBucket bytesLimit;
    private final boolean rateLimited;
    private final Thread writer;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition writerWake = lock.newCondition();
    /** Signalled when an append may be admitted where it was refused; see {@link #awaitRoom}. */
    private final Condition roomChanged = lock.newCondition();
    private long roomWakeCalls; // guarded by: lock; calls of wakeRoomWaiters, so that a woken waiter returns
    private final ArrayDeque<ByteBuffer> freeBuffers = new ArrayDeque<>(); // guarded by: lock
    private final ArrayDeque<WriteGroup> sealed = new ArrayDeque<>(); // guarded by: lock
    private final ArrayDeque<WriteGroup> inFlight = new ArrayDeque<>(); // guarded by: lock; submission order
    private final List<PendingTrim> pendingTrims = new ArrayList<>(); // guarded by: lock
    private WriteGroup open; // guarded by: lock
    private long callerWriteCount; // guarded by: lock; writes made by appending threads (callerWritesWhenIdle)
    private ByteBuffer openPrefix; // guarded by: lock; recovered tail bytes for the first group
    private long nextGroupStart; // guarded by: lock
    private long nextGroupSequence; // guarded by: lock
    private int ioInFlight; // guarded by: lock
    private long durableEnd; // guarded by: lock
    private WalHeader header; // guarded by: lock; the last durable header
    private long generation; // guarded by: lock
    private long requestedTrim; // guarded by: lock
    private StorageException failure; // guarded by: lock
    private long failedSequence = Long.MAX_VALUE; // guarded by: lock
    private boolean closing; // guarded by: lock
    private boolean closed; // guarded by: lock

    private record PendingTrim(long position, CompletableFuture<Void> future) {
    }

    private BlockDeviceWal(WalOptions options, WalFile file, WriteBackend backend, WalHeader header,
            RecordScanner.Params scanParams, int maxRecordBytes) {
        this.options = options;
        this.file = file;
        this.backend = backend;
        this.blockSize = header.blockSize();
        this.capacity = header.capacity();
        this.dataOffset = WalHeaderDescriptor.dataOffset(blockSize);
        this.maxRecordBytes = maxRecordBytes;
        this.scanParams = scanParams;
        this.recoveredHeader = header;
        this.header = header;
        this.requestedTrim = header.trimPosition();
        int id = IDS.getAndIncrement();
        for (int i = 0; i < backend.maxInFlight() + 2; i++) {
            freeBuffers.add(Buffers.allocateAligned(options.writeBufferBytes(), blockSize));
        }
        this.opsLimit = options.maxWriteOpsPerSecond() > 0 ? new TokenBucket(options.maxWriteOpsPerSecond(), System::nanoTime) : null;
        this.bytesLimit = options.maxWriteBytesPerSecond() > 0 ? new TokenBucket(options.maxWriteBytesPerSecond(), System::nanoTime) : null;
        this.rateLimited = opsLimit != null || bytesLimit != null;
        this.callerWrites = options.callerWritesWhenIdle() && !rateLimited && backend.canWriteNow();
        this.writer = new Thread(this::runWriter, "strata-wal-" + id);
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
        return open(options, UnaryOperator.identity());
    }

    /** As {@link #open(WalOptions)}, with the write backend wrapped (fault injection in tests). */
    static BlockDeviceWal open(WalOptions options, UnaryOperator<WriteBackend> wrapBackend) {
        Path path = options.path();
        WalOptions.Backend choice = options.backend();
        WriteBackendFactory uring = null;
        if (choice == WalOptions.Backend.AUTO || choice == WalOptions.Backend.IO_URING) {
            Optional<String> why = Optional.empty();
            uring = findUring();
            if (uring == null) {
                why = Optional.of("needs JDK 22+ (running " + Runtime.version().feature() + ")");
            } else {
                why = uring.unavailableReason();
                if (why.isPresent()) {
                    uring = null;
                }
            }
            if (uring == null) {
                if (choice == WalOptions.Backend.IO_URING) {
                    throw new StorageException("io_uring backend unavailable: file=" + path + " reason=" + why.get(),
                            false);
                }
                if (FALLBACK_LOGGED.compareAndSet(false, true)) {
                    LOG.info("WAL io_uring backend unavailable, using FileChannel: reason={}", why.get());
                }
            }
        }
        OwnershipLock lock = options.ownershipLock() != null ? options.ownershipLock() : OwnershipLock.forWal(path);
        WalFile file;
        try {
            if (choice == WalOptions.Backend.BUFFERED) {
                file = WalFile.open(path, false, options.capacityBytes(), lock);
            } else {
                try {
                    file = WalFile.open(path, true, options.capacityBytes(), lock);
                } catch (WalFile.DirectIoUnsupportedException e) {
                    if (choice != WalOptions.Backend.AUTO) {
                        throw e;
                    }
                    LOG.warn("WAL O_DIRECT unsupported, using buffered I/O + fdatasync: file={} error={}", path,
                            e.getMessage());
                    uring = null;
                    file = WalFile.open(path, false, options.capacityBytes(), lock);
                }
            }
        } catch (IOException e) {
            lock.close();
            boolean noSpace = String.valueOf(e.getMessage()).contains("No space left");
            throw new StorageException("WAL open failed: file=" + path + (noSpace ? " (no space left on the device"
                    + " for a WAL of capacity " + options.capacityBytes() + " bytes; free space or lower walCapacity)"
                    : "") + " error=" + e, noSpace, e);
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
        try {
            return openOn(options, file, uring, wrapBackend);
        } catch (RuntimeException e) {
            closeQuietly(file);
            throw e;
        }
    }

    /** Why the io_uring backend cannot run in this JVM, or empty if it can. */
    static Optional<String> uringUnavailableReason() {
        WriteBackendFactory f = findUring();
        return f == null ? Optional.of("needs JDK 22+ (running " + Runtime.version().feature() + ")")
                : f.unavailableReason();
    }

    private static WriteBackendFactory findUring() {
        if (Runtime.version().feature() < 22) {
            return null; // the provider class is compiled for 22 and must not even be loaded
        }
        for (WriteBackendFactory f : ServiceLoader.load(WriteBackendFactory.class, BlockDeviceWal.class.getClassLoader())) {
            if (IO_URING.equals(f.name())) {
                return f;
            }
        }
        return null;
    }

    private static BlockDeviceWal openOn(WalOptions options, WalFile file, WriteBackendFactory uring,
            UnaryOperator<WriteBackend> wrapBackend) {
        Path path = file.path();
        WriteBackend backend = null;
        try {
            WalHeader h = readHeader(file, options);
            int bs = h.blockSize();
            long dataOffset = WalHeaderDescriptor.dataOffset(bs);
            int maxRecord = (int) Math.min(options.writeBufferBytes() - 2L * bs - 2L * HEADER_BYTES,
                    (h.capacity() - bs) / 2 - 2L * HEADER_BYTES);
            RecordScanner.Params params = new RecordScanner.Params(bs, h.capacity(), dataOffset, h.trimPosition(),
                    h.generation(), h.generationStart(), h.closedEnd());
            boolean durable = !options.unsafeSkipSync();
            if (uring != null) {
                backend = uring.open(path, options.maxInFlightWrites(), durable);
            } else {
                backend = new ChannelWriteBackend(file.channel(), file.direct() ? FILECHANNEL_DIRECT
                        : FILECHANNEL_BUFFERED, durable, options.maxInFlightWrites());
            }
            backend = wrapBackend.apply(backend);
            BlockDeviceWal wal = new BlockDeviceWal(options, file, backend, h, params, maxRecord);
            LOG.info("WAL open: file={} backend={} blockSize={} capacity={} trimPosition={} durable={} maxInFlight={}"
                    + " callerWrites={}", path, backend.name(), bs, h.capacity(), h.trimPosition(), durable,
                    backend.maxInFlight(), wal.callerWrites);
            return wal;
        } catch (IOException e) {
            closeQuietly(backend);
            throw new StorageException("WAL open failed: file=" + path + " error=" + e, false, e);
        } catch (RuntimeException e) {
            closeQuietly(backend);
            throw e;
        }
    }

    /** Reads both header slots; the valid one with the higher sequence wins. Blank slots: a new WAL. */
    private static WalHeader readHeader(WalFile file, WalOptions options) throws IOException {
        int bs = file.blockSize();
        WalHeader best = null;
        List<String> problems = new ArrayList<>();
        WalHeaderDescriptor.Unsupported unsupported = null;
        boolean blank = true;
        for (int slot = 0; slot < WalHeaderDescriptor.SLOTS; slot++) {
            ByteBuffer b = Buffers.allocateAligned(bs, bs);
            file.read(WalHeaderDescriptor.slotOffset(slot, bs), b);
            WalHeaderDescriptor.Decoded d = WalHeaderDescriptor.decode(b);
            if (d instanceof WalHeaderDescriptor.Valid v) {
                blank = false;
                if (best == null || v.header().sequence() > best.sequence()) {
                    best = v.header();
                }
            } else if (d instanceof WalHeaderDescriptor.Invalid inv) {
                blank = false;
                problems.add("slot" + slot + ": " + inv.reason());
            } else if (d instanceof WalHeaderDescriptor.Unsupported u) {
                blank = false;
                unsupported = u;
                problems.add("slot" + slot + ": unsupported version " + u.version());
            }
        }
        if (best == null && unsupported != null) {
            throw new UnsupportedWalFormatException(file.path().toString(), unsupported.version(),
                    WalHeaderDescriptor.VERSION);
        }
        if (best != null) {
            if (best.blockSize() < bs || best.blockSize() % bs != 0) {
                throw new StorageException("WAL block size incompatible with device: file=" + file.path()
                        + " headerBlockSize=" + best.blockSize() + " deviceBlockSize=" + bs, false);
            }
            if (!problems.isEmpty()) {
                LOG.warn("WAL header slot invalid, using the other: file={} {}", file.path(), problems);
            }
            if (best.capacity() != options.capacityBytes() && !file.blockDevice()) {
                LOG.info("WAL keeps the capacity it was created with: file={} capacity={} configured={}",
                        file.path(), best.capacity(), options.capacityBytes());
            }
            return best;
        }
        if (!blank) {
            throw new CorruptDataException("WAL header unreadable: file=" + file.path() + " " + problems);
        }
        long cap = WalMath.alignDown(file.deviceBytes() - WalHeaderDescriptor.dataOffset(bs), bs);
        if (!file.blockDevice() && cap < options.capacityBytes()) {
            // Never written by a WAL (no header) and short: an interrupted preallocation of an older
            // version (this one preallocates under another name), or a file that is not a WAL.
            throw new StorageException("WAL file smaller than configured and never initialized: file=" + file.path()
                    + " bytes=" + file.deviceBytes() + ", a WAL of capacity " + options.capacityBytes() + " needs "
                    + (WalHeaderDescriptor.dataOffset(bs) + options.capacityBytes()) + " bytes; it holds no WAL data"
                    + " (both header slots are blank): delete it and it is created anew", false);
        }
        if (cap < WalOptions.MIN_CAPACITY_BYTES) {
            throw new StorageException("WAL device too small: file=" + file.path() + " bytes=" + file.deviceBytes()
                    + ", at least " + (WalHeaderDescriptor.dataOffset(bs) + WalOptions.MIN_CAPACITY_BYTES) + " needed",
                    false);
        }
        return new WalHeader(bs, cap, 0, 0, 0, 0, 0, WalHeader.OPEN);
    }

    private static void writeHeader(WalFile file, WalHeader h) throws IOException {
        ByteBuffer b = Buffers.allocateAligned(h.blockSize(), h.blockSize());
        WalHeaderDescriptor.encode(h, b, h.blockSize());
        file.writeDurably(WalHeaderDescriptor.slotOffset(h.slot(), h.blockSize()), b);
    }

    // ---------------------------------------------------------------- initialization

    /*
     * The log is read once: open() reads only the header. If the engine iterates recover() to the
     * end first (the normal restart), that scan defines where the log ends; otherwise the first
     * call that needs the end (append, trim, recoveryReport, used, ...) scans without copying
     * bodies. Either way, before the first write the header of the new generation, starting at
     * that end, is made durable, and appends are accepted from then on.
     */

    /** Makes sure the log's end is known and the WAL accepts appends; scans if nobody did yet. */
    private void ensureReady() {
        if (ready) {
            return;
        }
        synchronized (initLock) {
            if (ready) {
                return;
            }
            try {
                RecordScanner scanner = new RecordScanner(file, scanParams, maxRecordBytes, -1, null);
                while (scanner.next()) {
                    // finding the end only
                }
                finishInit(scanner.report(recoveredHeader.nodeEpoch()));
            } catch (IOException e) {
                throw new StorageException("WAL recovery scan failed: file=" + file.path() + " error=" + e, false, e);
            }
        }
    }

    /**
     * The node epoch this WAL records in its header when it initializes (at the first append, trim or
     * recovery scan), in place of {@link WalOptions#nodeEpoch()}: for an owner that opens its WAL
     * before it registers with its metadata, so that a WAL it cannot use fails its open before
     * anything else changes.
     *
     * @throws IllegalStateException if the WAL has initialized already
     */
    public void assignNodeEpoch(long nodeEpoch) {
        synchronized (initLock) {
            if (ready) {
                throw new IllegalStateException("WAL already initialized: file=" + file.path());
            }
            assignedNodeEpoch = OptionalLong.of(nodeEpoch);
        }
    }

    /** Called by a {@link WalRecovery} that scanned the whole log: its end is the WAL's end, no second read. */
    void recoveryScanFinished(RecoveryReport scanned) {
        synchronized (initLock) {
            if (ready) {
                return;
            }
            try {
                finishInit(scanned);
            } catch (IOException e) {
                throw new StorageException("WAL header write failed: file=" + file.path() + " error=" + e, false, e);
            }
        }
    }

    /** Holds: initLock. Writes the new generation's header, then opens the WAL for appends. */
    private void finishInit(RecoveryReport scanned) throws IOException {
        lock.lock();
        try {
            if (closed) {
                throw new StorageException("WAL closed: file=" + file.path(), false);
            }
        } finally {
            lock.unlock();
        }
        long end = scanned.endPosition();
        for (RecoveryReport.LostRegion lostRegion : scanned.lostRegions()) {
            // A lost region the scan could not get past (damage in the last writes, proven by the clean
            // close) ends the scan at its start. New writes begin after it, not over it: the damage stays
            // where the next scan finds it again (proven by the new generation's durable marks or clean
            // close), until the owner trims past it. Overwriting it would erase the only evidence that
            // acknowledged data was lost (an owner that refused to open would then open silently).
            end = Math.max(end, lostRegion.endPosition());
        }
        ByteBuffer tail = null;
        if (end % blockSize != 0) {
            ByteBuffer block = Buffers.allocateAligned(blockSize, blockSize);
            file.read(dataOffset + WalMath.alignDown(end, blockSize) % capacity, block);
            tail = block.flip().limit((int) (end % blockSize)).slice();
        }
        OptionalLong epoch = assignedNodeEpoch.isPresent() ? assignedNodeEpoch : options.nodeEpoch();
        WalHeader next = recoveredHeader.nextGeneration(end, epoch.orElse(recoveredHeader.nodeEpoch()));
        writeHeader(file, next);
        lock.lock();
        try {
            report = scanned;
            header = next;
            generation = next.generation();
            requestedTrim = next.trimPosition();
            durableEnd = end;
            nextGroupStart = WalMath.alignDown(end, blockSize);
            openPrefix = tail;
        } finally {
            lock.unlock();
        }
        writer.start();
        ready = true;
        if (scanned.acknowledgedDataLost()) {
            // reported, not handled here: the engine decides (the report says where and how much)
            LOG.error("WAL recovery found acknowledged data lost inside the log: file={} lostRegions={} lostBytes={} {}",
                    file.path(), scanned.lostRegions().size(), scanned.lostBytes(), scanned.detail());
        }
        LOG.info("WAL recovered: file={} records={} bodyBytes={} start={} end={} stopReason={} tornBytes={} generation={} {}",
                file.path(), scanned.records(), scanned.bodyBytes(), scanned.startPosition(), end, scanned.stopReason(),
                scanned.tornBytes(), next.generation(), scanned.detail());
    }

    // ---------------------------------------------------------------- append path

    @Override
    public CompletableFuture<WalAppendResult> append(ByteBuf body) {
        try {
            try {
                ensureReady();
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
            List<WriteGroup> ready = List.of();
            lock.lock();
            try {
                rejected = place(body, crc, future);
                if (rejected == null) {
                    own = callerWrites ? takeIdleWrite() : null;
                    ready = own == null ? takeSubmittable() : List.of();
                }
            } finally {
                lock.unlock();
            }
            if (own != null) {
                writeOnCaller(own);
            } else {
                submitAll(ready, false);
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

    /** Encodes the record into the open group; returns the rejection, or null. Holds: lock. */
    private RuntimeException place(ByteBuf body, int crc, CompletableFuture<WalAppendResult> future) {
        if (failure != null) {
            return new StorageException("WAL failed earlier: file=" + file.path() + " cause=" + failure.getMessage(),
                    false, failure);
        }
        if (closing) {
            return new StorageException("WAL closed: file=" + file.path(), false);
        }
        long encoded = WalRecordDescriptor.encodedLength(body.readableBytes());
        long limit = WalMath.alignDown(header.trimPosition(), blockSize) + capacity;
        while (true) {
            if (open == null) {
                ByteBuffer buf = freeBuffers.poll();
                if (buf == null) {
                    return new BackpressureException("WAL write buffers all in use: file=" + file.path()
                            + " buffers=" + (backend.maxInFlight() + 2) + " bufferBytes=" + options.writeBufferBytes());
                }
                open = new WriteGroup(nextGroupSequence++, nextGroupStart, buf, generation, blockSize, openPrefix);
                openPrefix = null;
            }
            long pos = open.endPosition();
            long lapEnd = (pos / capacity + 1) * capacity;
            boolean fitsLap = pos + encoded == lapEnd || pos + encoded + HEADER_BYTES <= lapEnd;
            if (!fitsLap) {
                if (lapEnd + encoded > limit) {
                    return full(encoded, limit);
                }
                if (!open.hasRoom(HEADER_BYTES)) {
                    sealOpen();
                    continue;
                }
                open.addPadding(lapEnd);
                sealOpen();
                continue;
            }
            if (pos + encoded > limit) {
                return full(encoded, limit);
            }
            if (!open.hasRoom(encoded + HEADER_BYTES)) {
                sealOpen();
                continue;
            }
            open.addRecord(body, crc, future);
            // a write never crosses the physical end of the ring: a record ending the lap ends its write
            // the soft limit seals a group only while another buffer is free: when every buffer is
            // taken, the open group keeps absorbing appends up to its capacity instead of refusing them
            if ((open.fill() >= options.groupCommitBytes() && !freeBuffers.isEmpty())
                    || open.endPosition() % capacity == 0) {
                sealOpen();
            }
            if (rateLimited && ioInFlight < backend.maxInFlight()) {
                writerWake.signal();
            }
            return null;
        }
    }

    private BackpressureException full(long encoded, long limit) {
        long pos = open != null ? open.endPosition() : nextGroupStart;
        return new BackpressureException("WAL full: file=" + file.path() + " recordBytes=" + encoded + " writePosition="
                + pos + " trimPosition=" + header.trimPosition() + " limit=" + limit + " capacity=" + capacity);
    }

    @Override
    public boolean awaitRoom(int bodyBytes, long timeoutNanos) throws InterruptedException {
        if (bodyBytes < 0) {
            throw new IllegalArgumentException("bodyBytes must be >= 0, got " + bodyBytes);
        }
        try {
            ensureReady();
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
            while (failure == null && !closing && wakeCall == roomWakeCalls && !admits(encoded)) {
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
     * Whether {@link #place} would accept a record of {@code encoded} bytes now: the same steps
     * (lap-end padding, sealing a full group, taking a buffer, the trim limit) on copies of the
     * state, changing nothing. Holds: lock.
     */
    private boolean admits(long encoded) {
        long limit = WalMath.alignDown(header.trimPosition(), blockSize) + capacity;
        int bufferBytes = options.writeBufferBytes();
        int buffers = freeBuffers.size();
        long start;
        long fill;
        if (open != null) {
            start = open.start;
            fill = open.fill();
        } else {
            if (buffers == 0) {
                return false;
            }
            buffers--;
            start = nextGroupStart;
            fill = openPrefix != null ? openPrefix.remaining() : 0;
        }
        while (true) {
            long pos = start + fill;
            long lapEnd = (pos / capacity + 1) * capacity;
            boolean fitsLap = pos + encoded == lapEnd || pos + encoded + HEADER_BYTES <= lapEnd;
            if (fitsLap) {
                if (pos + encoded > limit) {
                    return false;
                }
                if (fill + encoded + HEADER_BYTES <= bufferBytes) {
                    return true;
                }
                start += WalMath.alignUp(fill, blockSize); // sealed: the next group starts at the next block
            } else {
                if (lapEnd + encoded > limit) {
                    return false;
                }
                // padded to the lap end and sealed, or (no room for the padding header) sealed as it is
                start = fill + HEADER_BYTES <= bufferBytes ? lapEnd : start + WalMath.alignUp(fill, blockSize);
            }
            if (buffers == 0) {
                return false;
            }
            buffers--;
            fill = 0;
        }
    }

    /** Moves the open group (if it has records) to the sealed queue. Holds: lock. */
    private void sealOpen() {
        WriteGroup g = open;
        open = null;
        if (g == null) {
            return;
        }
        if (g.recordCount() == 0) {
            if (g.fill() > 0) {
                // only the recovered prefix: keep it for the next group
                openPrefix = g.buffer.duplicate().limit(g.fill()).position(0);
                ByteBuffer copy = ByteBuffer.allocate(g.fill());
                copy.put(openPrefix).flip();
                openPrefix = copy;
            }
            freeBuffers.add(g.buffer);
            roomChanged.signalAll();
            return;
        }
        nextGroupStart = g.seal();
        sealed.add(g);
    }

    /**
     * Without rate limits, the thread that finds a free in-flight slot (an appender, or the thread
     * reporting a completion) seals and submits the next group itself: no hand-off to the writer
     * thread on the latency path. Returns the groups to submit once the lock is released, already
     * registered in flight in sequence order. Holds: lock.
     */
    private List<WriteGroup> takeSubmittable() {
        if (rateLimited || failure != null) {
            return List.of();
        }
        List<WriteGroup> ready = null;
        while (ioInFlight < backend.maxInFlight()) {
            WriteGroup g = sealed.poll();
            if (g == null && open != null && open.recordCount() > 0) {
                sealOpen();
                g = sealed.poll();
            }
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
     * registers it in flight for the calling thread to write; else null. Holds: lock.
     */
    private WriteGroup takeIdleWrite() {
        if (failure != null || ioInFlight > 0 || !sealed.isEmpty() || open == null || open.recordCount() == 0) {
            return null;
        }
        sealOpen();
        WriteGroup g = sealed.poll();
        startWrite(g);
        callerWriteCount++;
        return g;
    }

    /**
     * Whether appends write themselves when the WAL is idle: callerWritesWhenIdle asked for, and the
     * backend can (io_uring, with a libc that has pwritev2). For tests and diagnostics.
     */
    boolean callerWritesEnabled() {
        return callerWrites;
    }

    /** Writes made by appending threads themselves (callerWritesWhenIdle); for tests and diagnostics. */
    long callerWriteCount() {
        lock.lock();
        try {
            return callerWriteCount;
        } finally {
            lock.unlock();
        }
    }

    /** Where {@code g}'s write starts on the device. */
    private long deviceOffset(WriteGroup g) {
        return dataOffset + g.start % capacity;
    }

    /** callerWritesWhenIdle: writes {@code g} on this thread, then reports it and runs the callbacks. */
    private void writeOnCaller(WriteGroup g) {
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

    /**
     * Submits groups taken by {@link #takeSubmittable()}; without the lock. {@code mayRunCallbacks}:
     * whether this thread may run inline callbacks (false on appending threads).
     */
    private void submitAll(List<WriteGroup> ready, boolean mayRunCallbacks) {
        for (WriteGroup g : ready) {
            submit(g, mayRunCallbacks);
        }
    }

    // ---------------------------------------------------------------- writer thread

    private void runWriter() {
        lock.lock();
        try {
            while (true) {
                if (failure == null && requestedTrim > header.trimPosition()) {
                    writeTrim();
                    continue;
                }
                if (failure == null && ioInFlight < backend.maxInFlight()) {
                    WriteGroup g = sealed.poll();
                    if (g == null && open != null && open.recordCount() > 0) {
                        sealOpen();
                        g = sealed.poll();
                    }
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
                if (!inlineQueue.isEmpty() && !inlineRunning.get()) {
                    lock.unlock();
                    try {
                        runInlineCallbacks();
                    } finally {
                        lock.lock();
                    }
                    continue;
                }
                if (closing && inFlight.isEmpty() && (failure != null || (sealed.isEmpty()
                        && (open == null || open.recordCount() == 0) && requestedTrim <= header.trimPosition()))) {
                    return;
                }
                writerWake.awaitUninterruptibly();
            }
        } catch (Throwable t) {
            LOG.error("WAL writer thread died: file={}", file.path(), t);
            fail(new StorageException("WAL writer thread died: file=" + file.path(), false, t), Long.MIN_VALUE);
        } finally {
            lock.unlock();
        }
        runInlineCallbacks();
    }

    /** Runs without the lock, on the thread that took {@code g} (see {@link #submitAll}). */
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
     * Runs on a backend thread, or inside {@code submit} on the submitting thread (an immediate
     * failure); {@code mayRunCallbacks} says whether this thread may run inline callbacks.
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
                fail(new StorageException("WAL write failed: file=" + file.path() + " position=" + g.start
                        + " offset=" + offset + " length=" + g.writeLength() + " error=" + error.getMessage(), false,
                        error), g.sequence);
            }
            freeBuffers.add(g.buffer);
            roomChanged.signalAll();
            advance();
            ready = takeSubmittable();
            if (rateLimited || closing || failure != null || requestedTrim > header.trimPosition()
                    || (!mayRunCallbacks && !inlineQueue.isEmpty())) {
                writerWake.signal();
            }
        } finally {
            lock.unlock();
        }
        submitAll(ready, mayRunCallbacks);
        if (mayRunCallbacks) {
            runInlineCallbacks();
        }
    }

    /**
     * Runs queued completions in order, one thread at a time, without the lock. A
     * thread that finds another one running them leaves: that one re-checks the queue after
     * clearing its flag, so nothing queued is left behind.
     */
    private void runInlineCallbacks() {
        while (!inlineQueue.isEmpty() && inlineRunning.compareAndSet(false, true)) {
            try {
                for (Runnable r; (r = inlineQueue.poll()) != null; ) {
                    try {
                        r.run();
                    } catch (RuntimeException e) {
                        LOG.error("WAL completion callback failed: file={}", file.path(), e);
                    }
                }
            } finally {
                inlineRunning.set(false);
            }
        }
    }

    /**
     * Completes the futures of the contiguous prefix of finished groups, in order. Holds: lock.
     */
    private void advance() {
        List<Runnable> completions = new ArrayList<>();
        while (!inFlight.isEmpty() && inFlight.peek().done) {
            WriteGroup g = inFlight.poll();
            if (g.sequence < failedSequence && g.error == null) {
                durableEnd = g.nextPosition();
                g.succeed(completions);
            } else {
                g.fail(failure, completions);
            }
        }
        if (failure != null && inFlight.isEmpty()) {
            for (WriteGroup g; (g = sealed.poll()) != null; ) {
                g.fail(failure, completions);
                freeBuffers.add(g.buffer);
            }
            if (open != null) {
                open.fail(failure, completions);
                freeBuffers.add(open.buffer);
                open = null;
            }
        }
        dispatch(completions);
    }

    /** Queues completions, in order, for the thread that runs callbacks. Holds: lock. */
    private void dispatch(List<Runnable> completions) {
        if (completions.isEmpty()) {
            return;
        }
        inlineQueue.add(() -> completions.forEach(Runnable::run));
    }

    /** Enters the failed state (once). Holds: lock. */
    private void fail(StorageException e, long sequence) {
        failedSequence = Math.min(failedSequence, sequence);
        if (failure == null) {
            failure = e;
            LOG.error("WAL failed, rejecting all further appends: file={} error={}", file.path(), e.getMessage());
            List<Runnable> trims = new ArrayList<>();
            for (PendingTrim t : pendingTrims) {
                trims.add(() -> t.future().completeExceptionally(e));
            }
            pendingTrims.clear();
            dispatch(trims);
        }
        advance();
        writerWake.signal();
        roomChanged.signalAll(); // waiters return: appends now fail for good
    }

    /** Writes a header with the requested trim point; on the writer thread, holding the lock except during I/O. */
    private void writeTrim() {
        WalHeader next = header.withTrim(requestedTrim);
        lock.unlock();
        IOException error = null;
        try {
            writeHeader(file, next);
        } catch (IOException e) {
            error = e;
        } finally {
            lock.lock();
        }
        if (error != null) {
            fail(new StorageException("WAL header write failed: file=" + file.path() + " trimPosition="
                    + next.trimPosition() + " error=" + error.getMessage(), false, error), Long.MIN_VALUE);
            return;
        }
        header = next;
        roomChanged.signalAll(); // the space below the new trim point is reusable now
        List<Runnable> done = new ArrayList<>();
        for (Iterator<PendingTrim> it = pendingTrims.iterator(); it.hasNext(); ) {
            PendingTrim t = it.next();
            if (t.position() <= next.trimPosition()) {
                it.remove();
                done.add(() -> t.future().complete(null));
            }
        }
        dispatch(done);
    }

    // ---------------------------------------------------------------- trim, recovery, state

    @Override
    public CompletableFuture<Void> trim(long position) {
        try {
            ensureReady();
        } catch (StorageException e) {
            return CompletableFuture.failedFuture(e);
        }
        lock.lock();
        try {
            if (failure != null) {
                return CompletableFuture.failedFuture(new StorageException("WAL failed earlier: file=" + file.path(),
                        false, failure));
            }
            if (closing) {
                return CompletableFuture.failedFuture(new StorageException("WAL closed: file=" + file.path(), false));
            }
            if (position > durableEnd) {
                throw new IllegalArgumentException("trim beyond the durable end: position=" + position
                        + " durableEnd=" + durableEnd);
            }
            if (position <= header.trimPosition()) {
                return CompletableFuture.completedFuture(null);
            }
            CompletableFuture<Void> f = new CompletableFuture<>();
            pendingTrims.add(new PendingTrim(position, f));
            requestedTrim = Math.max(requestedTrim, position);
            writerWake.signal();
            return f;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public WalRecovery recover() {
        String name = file.path().toString();
        if (ready) {
            RecordScanner scanner = new RecordScanner(file, scanParams, maxRecordBytes, report.endPosition(),
                    report.lostRegions());
            return new WalRecovery(scanner, report, PooledByteBufAllocator.DEFAULT, name, recoveredHeader.nodeEpoch(), r -> {
            });
        }
        // the one scan of the log: when it ends, the WAL knows where to write
        RecordScanner scanner = new RecordScanner(file, scanParams, maxRecordBytes, -1, null);
        return new WalRecovery(scanner, null, PooledByteBufAllocator.DEFAULT, name, recoveredHeader.nodeEpoch(),
                this::recoveryScanFinished);
    }

    @Override
    public RecoveryReport recoveryReport() {
        ensureReady();
        return report;
    }

    @Override
    public long capacity() {
        return capacity;
    }

    @Override
    public long used() {
        ensureReady();
        lock.lock();
        try {
            return writePositionLocked() - header.trimPosition();
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
        ensureReady();
        lock.lock();
        try {
            return writePositionLocked();
        } finally {
            lock.unlock();
        }
    }

    private long writePositionLocked() {
        return open != null ? open.endPosition() : nextGroupStart + (openPrefix != null ? openPrefix.remaining() : 0);
    }

    /** Largest body {@link #append} accepts. */
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
            return failure != null;
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
            closing = true;
            writerWake.signal();
            roomChanged.signalAll();
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
        closeQuietly(backend);
        runInlineCallbacks(); // nothing should be left; never leave a future behind
        closeQuietly(file);
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
        if (!ready) {
            return; // never initialized: the header on the device still describes the log
        }
        WalHeader next;
        lock.lock();
        try {
            if (failure != null || !inFlight.isEmpty() || !sealed.isEmpty() || (open != null && open.recordCount() > 0)) {
                return;
            }
            next = header.closedAt(durableEnd);
        } finally {
            lock.unlock();
        }
        try {
            writeHeader(file, next);
            lock.lock();
            try {
                header = next;
            } finally {
                lock.unlock();
            }
        } catch (IOException e) {
            LOG.warn("WAL clean-close header not written, the next open scans the whole ring: file={} error={}",
                    file.path(), e.toString());
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            LOG.warn("WAL close failed: resource={} error={}", c, e.toString());
        }
    }
}
