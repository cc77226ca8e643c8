package dev.strata.wal.objectstore;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.strata.api.BackpressureException;
import dev.strata.api.CorruptDataException;
import dev.strata.api.RecordTooLargeException;
import dev.strata.api.StorageException;
import dev.strata.api.StrataException;
import dev.strata.api.StreamFencedException;
import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectNotFoundException;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.PreconditionFailedException;
import dev.strata.objectstore.PutCondition;
import dev.strata.wal.api.RecoveryReport;
import dev.strata.wal.api.WalAppendResult;
import dev.strata.wal.api.WriteAheadLog;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A write-ahead log in object storage: no local disk. Appends from every stream are gathered into
 * one object per flush, PUT as {@code <prefix>/wal/<sequence>} with {@code If-None-Match: *}; the
 * object layout is {@link WalObjectDescriptor}'s (and docs/formats.md, "Object-store WAL").
 *
 * <p>It has every method of {@code dev.strata.wal.WriteAheadLog}, with the same contract, but does
 * not declare that interface yet: {@code WriteAheadLog#recover()} returns the block-device WAL's
 * final {@code WalRecovery}, which only that package can construct. When the interface moves to the
 * wal-api module with a recovery type both implementations can return, this class declares it and
 * {@link ObjectWalRecovery} implements that type (the test {@code InterfaceParityTest} checks that
 * every other method matches today).
 *
 * <p>Positions are a running count of log bytes: a record takes {@link WalObjectDescriptor#RECORD_FRAME_BYTES}
 * plus its body, and an object's records are consecutive, so the last record's
 * {@code nextPosition} is where the next object's first record starts.
 *
 * <p>Thread-safety: every method may be called from any thread. Futures complete in append order,
 * on the thread that learned of the PUT's outcome (the object storage's completion thread or the
 * scheduler's), never while this WAL holds its lock; on an appending or flushing thread only if
 * the object storage completes a PUT before returning it (an in-memory store). Callbacks must be
 * short, must not block and must not call {@link #close}; they may append and trim.
 *
 * <p>Failure: futures fail with {@link BackpressureException} (capacity or buffered bytes full;
 * nothing was written, retry after {@link #awaitRoom}), {@link RecordTooLargeException},
 * {@link StreamFencedException} (another writer took over the prefix: not retriable, the WAL is
 * failed) or {@link StorageException} (a PUT failed for good, or the WAL is closed). After a
 * failure every pending and later append fails and nothing not durable is reported durable.
 */
public final class ObjectStoreWal implements WriteAheadLog {
    /*
     * Design.
     *
     * Concurrency: one lock ("lock") guards the write state: the open batch, the sealed objects not
     * yet acknowledged, the counters, the trim state and the completion queue. Appends copy the
     * record into the open batch under the lock (the CRC of the record is computed before). Sealing
     * assigns the next sequence and computes the header under the lock; PUTs are started outside it.
     * Completions (futures) are queued under the lock and run outside it by one drainer at a time
     * ("draining"), so they run in queue order, which is sequence order.
     *
     * Durability: a record is acknowledged when its object and every object of a lower sequence are
     * durable: "unacked" holds the sealed objects in sequence order, and only its durable prefix is
     * popped. Several PUTs may be in flight (maxPutsInFlight); sealed objects beyond wait in
     * "waiting". A PUT is If-None-Match: *, so it never overwrites.
     *
     * Sealing: the open batch becomes an object when its records reach flushBytes, when the interval
     * timer fires, on flush() and at close; and,
     * with earlyFlush, as soon as no PUT is in flight: the append that finds putsInFlight == 0
     * seals at once, and so does the completion that brings it to 0 with records waiting (both
     * under the lock, so there is no window where records wait with nothing in flight; a PUT waiting
     * out a retry backoff or reading back a collision is in flight). A PUT that
     * starts while another is in flight was therefore sealed by size or by the timer; the PUT rate
     * this allows is worked out in ObjectWalOptions.DEFAULT_EARLY_FLUSH.
     *
     * The interval timer is armed by the batch's first record (or by a trim) to fire one flush
     * interval after the last seal of any kind (lastSealNanos; the fence object at open counts), not
     * one interval after that record; if that moment has passed, after a gather of a tenth of the
     * interval. Timer seals are thus at least an interval apart, as before (at most one PUT per
     * interval for a trickle), but a record after a quiet interval waits only the gather, and a
     * closed loop's round is about max(interval, PUT latency + gather) instead of interval + PUT
     * latency. The gather keeps a cohort (appenders re-appending as their acknowledgements arrive,
     * a few at a time) in one object when PUTs are slower than the interval; sealing the first
     * record of a cohort at once split each round into about three objects at 100 ms PUTs
     * (measured: three times the PUTs per GiB, no more throughput).
     *
     * Failure: a retriable PUT failure is retried (maxPutAttempts, doubling backoff on the
     * scheduler). A 412 means the key exists: the object is read back; if its bytes are ours, an
     * earlier attempt landed and its response was lost: durable. If it was written by an older
     * epoch at a sequence above our fence, it is an orphan of a fenced writer (see Fencing) and is
     * deleted, then the PUT is retried. Anything else is a newer writer: the WAL is fenced. Any
     * final failure fails the WAL: every unacknowledged future fails, in order, and no later PUT
     * outcome acknowledges anything.
     *
     * Fencing: open() finds the chain (LogFinder), takes an epoch above every epoch it saw, and
     * writes a fence object at the next sequence with If-None-Match: *. An older writer's PUT of
     * that sequence then collides and that writer is fenced; because acknowledgements are in
     * sequence order, it never acknowledges that sequence or any later one. So any object of an
     * older epoch above the fence was never acknowledged: deleting it is safe. If the fence PUT
     * collides itself, the older writer got there first: if the object continues the chain it
     * may have been acknowledged, so the chain is extended by it and the fence tried one sequence
     * higher; an older-epoch object that does not continue the chain is an orphan (deleted); a
     * same-or-newer epoch means a concurrent opener won (fenced).
     *
     * Fence objects are kept: a fence object is never deleted, not even once trimmed. A writer
     * paused (or cut off) while its PUT of sequence f was in flight may complete that PUT at any later
     * time, and If-None-Match: * refuses it only while the key f exists. The opener that took over
     * put its fence exactly there (the first sequence missing from the chain it found), so as long as
     * the fence stays, the late PUT collides and the stale writer is fenced; were the fence deleted by
     * a trim, the late PUT would succeed and the stale writer would acknowledge records no one
     * recovered (core's DisklessTakeoverTest caught exactly that). A stale writer's later sequences
     * may land in deleted keys, but it never acknowledges them (acknowledgements are in order, and f
     * failed); a later opener or PUT deletes them as orphans. Each takeover leaves one 80-byte object
     * for good.
     *
     * Recovery: the chain is [trimSequence, top] (LogFinder's rule). Every acknowledged object is
     * in it: an acknowledged object's predecessors are all durable (acks are in order), and the
     * objects below it down to its trim sequence are deleted only after a later object carrying a
     * higher trim point is acknowledged. The listing may miss objects (a lagging S3-compatible
     * store): the objects above the highest listed one are found by HEAD-like probes (GET of the
     * header) until one is absent, and every sequence of a candidate chain is read, listed or not.
     * What recovery needs from the listing is one object of the current chain. A live writer can
     * move on and delete objects below its new trim point while the opener reads: at the first
     * missing object the opener lists again and starts over if newer objects appeared. An object after a
     * gap, or of a lower epoch than its predecessor, was never acknowledged (its writer's earlier
     * PUT failed or collided) and is not returned.
     *
     * Trim: trim(p) records p as the requested trim point; the next sealed object carries it (an
     * empty object is sealed at the next interval if no record is waiting). Once that object is
     * acknowledged the trim point is durable: the future completes, used() drops, and objects
     * wholly below it and below that object are deleted, fence objects excepted (best effort; a
     * leftover is deleted at the next open). The newest object is never deleted, so the epoch and
     * trim point survive.
     *
     * Backpressure: an append is refused when the log bytes between the durable trim point and the
     * write position would exceed capacityBytes, or the bytes held in memory (open batch plus
     * sealed objects not yet durable) would exceed maxBufferedBytes.
     */
    private static final Logger LOG = LoggerFactory.getLogger(ObjectStoreWal.class);

    /** Attempts to place the fence object, each after another writer's object took the sequence. */
    static final int MAX_FENCE_ATTEMPTS = 100;
    /** Times an orphan at one sequence is deleted before the WAL gives up on that sequence. */
    static final int MAX_ORPHAN_DELETES = 3;
    /** CRC32C of no bytes. */
    private static final int EMPTY_BODY_CRC = 0;
    /** A record after a quiet interval waits interval / GATHER_FRACTION for others to join its object. */
    static final int GATHER_FRACTION = 10;

    private final ObjectStorage storage;
    private final ObjectWalOptions options;
    private final WalObjectKeys keys;
    private final FlushScheduler scheduler;
    private final ScheduledExecutorService ownedScheduler; // null when injected
    private final ByteBufAllocator allocator;
    private final long epoch;
    private final long writerId;
    private final long fenceSequence;
    private final LogFinder.Found found;
    private final List<WalObjectHeader> recoveredChain;
    private final long openEndPosition;

    /** Whether the WAL was recovered, appended to or trimmed (then no node epoch may be assigned). */
    private volatile boolean used;
    /** The store's node epoch, once assigned; -1 before. */
    private volatile long assignedNodeEpoch = -1;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();

    @GuardedBy("lock")
    private long writePosition;
    @GuardedBy("lock")
    private long nextSequence;
    @GuardedBy("lock")
    private long ackedEnd;
    @GuardedBy("lock")
    private Batch batch;
    @GuardedBy("lock")
    private FlushScheduler.Cancellable timer;
    @GuardedBy("lock")
    private long timerToken;
    /** {@link FlushScheduler#nanoTime()} of the last seal (at first: when the fence was written at open). */
    @GuardedBy("lock")
    private long lastSealNanos;
    @GuardedBy("lock")
    private final ArrayDeque<Sealed> unacked = new ArrayDeque<>();
    @GuardedBy("lock")
    private final ArrayDeque<Sealed> waiting = new ArrayDeque<>();
    @GuardedBy("lock")
    private int putsInFlight;
    @GuardedBy("lock")
    private long bufferedBytes;
    @GuardedBy("lock")
    private long requestedTrim;
    @GuardedBy("lock")
    private long sealedTrim;
    @GuardedBy("lock")
    private long durableTrim;
    @GuardedBy("lock")
    private final ArrayDeque<long[]> live = new ArrayDeque<>(); // {sequence, base, end}, acknowledged, not deleted
    @GuardedBy("lock")
    private final List<TrimWaiter> trimWaiters = new ArrayList<>();
    @GuardedBy("lock")
    private StrataException failure;
    @GuardedBy("lock")
    private boolean closed;
    @GuardedBy("lock")
    private long wakeGeneration;
    @GuardedBy("lock")
    private final ArrayDeque<Runnable> completions = new ArrayDeque<>();
    @GuardedBy("lock")
    private boolean draining;
    @GuardedBy("lock")
    private RecoveryReport report;
    /** Deletes of trimmed objects not yet finished (close waits for them). */
    @GuardedBy("lock")
    private CompletableFuture<Void> deletes = CompletableFuture.completedFuture(null);

    private ObjectStoreWal(ObjectStorage storage, ObjectWalOptions options, FlushScheduler scheduler,
            ScheduledExecutorService ownedScheduler, ByteBufAllocator allocator, long writerId, LogFinder.Found found,
            List<WalObjectHeader> chain, long epoch, long fenceSequence, long endPosition, long trimPosition) {
        this.storage = storage;
        this.options = options;
        this.keys = new WalObjectKeys(options.prefix());
        this.scheduler = scheduler;
        this.ownedScheduler = ownedScheduler;
        this.allocator = allocator;
        this.writerId = writerId;
        this.found = found;
        this.recoveredChain = List.copyOf(chain);
        this.epoch = epoch;
        this.fenceSequence = fenceSequence;
        this.openEndPosition = endPosition;
        lock.lock();
        try {
            this.writePosition = endPosition;
            this.ackedEnd = endPosition;
            this.nextSequence = fenceSequence + 1;
            this.requestedTrim = trimPosition;
            this.sealedTrim = trimPosition;
            this.durableTrim = trimPosition;
            this.lastSealNanos = scheduler.nanoTime(); // the fence object counts as a seal
            for (WalObjectHeader h : chain) {
                live.add(new long[] {h.sequence(), h.basePosition(), h.endPosition(), h.fence() ? 1 : 0});
            }
            live.add(new long[] {fenceSequence, endPosition, endPosition, 1});
        } finally {
            lock.unlock();
        }
    }

    /**
     * Opens the WAL at {@code options.prefix()} with its own timer thread ({@code strata-objwal-timer}),
     * stopped by {@link #close}. See {@link #open(ObjectStorage, ObjectWalOptions, FlushScheduler, ByteBufAllocator)}.
     */
    public static ObjectStoreWal open(ObjectStorage storage, ObjectWalOptions options) {
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "strata-objwal-timer");
            t.setDaemon(true);
            return t;
        });
        try {
            return open(storage, options, FlushScheduler.of(timer), PooledByteBufAllocator.DEFAULT, timer,
                    new SecureRandom().nextLong());
        } catch (RuntimeException e) {
            timer.shutdownNow();
            throw e;
        }
    }

    /**
     * Opens the WAL at {@code options.prefix()}: finds the log (reading object headers), takes a node
     * epoch above every one it saw, and writes the fence object, so that a previous writer of this
     * prefix, alive or not, can no longer acknowledge anything. Blocking. The records to replay are
     * then read by {@link #recover()}; appends may start at once.
     *
     * @param scheduler runs the flush timer and PUT retry backoffs; the caller owns it
     * @param allocator allocates the objects' buffers (direct)
     * @throws StreamFencedException if a concurrent opener with the same or a newer epoch won the fence
     * @throws CorruptDataException if an object of the chain has a damaged header
     * @throws StorageException if the object storage fails
     */
    public static ObjectStoreWal open(ObjectStorage storage, ObjectWalOptions options, FlushScheduler scheduler,
            ByteBufAllocator allocator) {
        return open(storage, options, scheduler, allocator, null, new SecureRandom().nextLong());
    }

    static ObjectStoreWal open(ObjectStorage storage, ObjectWalOptions options, FlushScheduler scheduler,
            ByteBufAllocator allocator, ScheduledExecutorService ownedScheduler, long writerId) {
        WalObjectKeys keys = new WalObjectKeys(options.prefix());
        LogFinder.Found found = new LogFinder(storage, keys).find();
        long epoch = found.maxEpochSeen() + 1;
        List<WalObjectHeader> chain = new ArrayList<>(found.chain());
        long seq = found.nextSequence();
        long end = found.endPosition();
        long topEpoch = found.topEpoch();
        long trimSeq = found.trimSequence();
        long trimPos = found.trimPosition();
        int orphanDeletes = 0;
        for (int attempt = 1; ; attempt++) {
            if (attempt > MAX_FENCE_ATTEMPTS) {
                throw new StorageException("object-store WAL fence not placed: prefix=" + options.prefix()
                        + " attempts=" + MAX_FENCE_ATTEMPTS + " lastSequence=" + seq
                        + " (another writer kept taking the next sequence)", true);
            }
            WalObjectHeader fence = new WalObjectHeader(true, epoch, writerId, seq, end,
                    Math.min(trimSeq, seq), trimPos, 0, 0, EMPTY_BODY_CRC);
            ByteBuf obj = encode(allocator, fence, null);
            try {
                Await.join(storage.put(keys.key(seq), obj.retainedDuplicate(), PutCondition.ifAbsent()));
                break;
            } catch (PreconditionFailedException e) {
                ObjectData data = Await.join(storage.get(keys.key(seq), ByteRange.all()));
                try {
                    if (ByteBufUtil.equals(data.content(), obj)) {
                        break; // our own fence: an earlier attempt's response was lost
                    }
                    WalObjectHeader h = WalObjectDescriptor.readHeader(data.content(), keys.key(seq));
                    if (h.nodeEpoch() >= epoch) {
                        throw new StreamFencedException("object-store WAL fenced while opening: prefix="
                                + options.prefix() + " sequence=" + seq + " foundEpoch=" + h.nodeEpoch()
                                + " foundWriter=" + h.writerId() + " ourEpoch=" + epoch);
                    }
                    if (h.nodeEpoch() >= topEpoch && h.basePosition() == end) {
                        // A live older writer got this sequence first: it continues the chain and may be acknowledged.
                        chain.add(h);
                        end = h.endPosition();
                        topEpoch = h.nodeEpoch();
                        trimSeq = Math.max(trimSeq, h.trimSequence());
                        trimPos = Math.max(trimPos, h.trimPosition());
                        seq++;
                    } else if (h.nodeEpoch() < topEpoch && orphanDeletes++ < MAX_FENCE_ATTEMPTS) {
                        Await.join(storage.delete(List.of(keys.key(seq)))); // orphan of a fenced writer
                    } else {
                        throw new CorruptDataException("object-store WAL object does not continue the log: key="
                                + keys.key(seq) + " header=" + h + " expectedBase=" + end + " chainEpoch=" + topEpoch);
                    }
                } finally {
                    data.release();
                }
            } finally {
                obj.release();
            }
        }
        final long t = trimSeq;
        chain.removeIf(h -> h.sequence() < t);
        ObjectStoreWal wal = new ObjectStoreWal(storage, options, scheduler, ownedScheduler, allocator, writerId, found,
                chain, epoch, seq, end, trimPos);
        wal.deleteGarbage(t);
        LOG.info("object-store WAL opened: prefix={} epoch={} fenceSequence={} endPosition={} trimPosition={} "
                + "chainObjects={} detail={}", options.prefix(), epoch, seq, end, trimPos, chain.size(), found.detail());
        return wal;
    }

    /** Whether the object of sequence {@code s} is a fence object (its header read); false if it cannot be read. */
    private boolean isFence(long s) {
        String key = keys.key(s);
        try {
            ObjectData data = Await.join(storage.get(key, ByteRange.of(0, WalObjectDescriptor.HEADER_BYTES)));
            try {
                return WalObjectDescriptor.readHeader(data.content(), key).fence();
            } finally {
                data.release();
            }
        } catch (StrataException e) {
            return false; // gone or unreadable: not a fence that guards anything
        }
    }

    /**
     * Deletes objects listed at open that are below the trim sequence or above the fence: never needed
     * for recovery. Fence objects below the trim sequence are kept (see the class comment, "Fence objects are kept"); telling
     * them apart costs a header read per object below the trim sequence, which is only the fences of
     * earlier takeovers and leftovers of deletes that failed.
     */
    private void deleteGarbage(long trimSequence) {
        List<String> garbage = new ArrayList<>();
        for (long s : found.listed()) {
            if (s > fenceSequence || s < trimSequence && !isFence(s)) {
                garbage.add(keys.key(s));
            }
        }
        if (!garbage.isEmpty()) {
            try {
                Await.join(storage.delete(garbage));
            } catch (StrataException e) {
                LOG.warn("object-store WAL: garbage objects not deleted (deleted at the next open, or replaced "
                        + "as orphans): prefix={} count={}", options.prefix(), garbage.size(), e);
            }
        }
    }

    // ---------------------------------------------------------------- append

    /**
     * Appends {@code body} (its readable bytes) as one record. Takes ownership of {@code body} and
     * releases it on every outcome, including when this method throws.
     *
     * @return completes, in append order, once the record's object and every earlier object are
     *     durable, with its position and the position where the next record starts
     */
    @Override
    public CompletableFuture<WalAppendResult> append(ByteBuf body) {
        used = true;
        List<Sealed> toStart = List.of();
        CompletableFuture<WalAppendResult> future = new CompletableFuture<>();
        try {
            int length = body.readableBytes();
            if (length > options.maxRecordBytes()) {
                return CompletableFuture.failedFuture(new RecordTooLargeException(length, options.maxRecordBytes()));
            }
            int crc = WalObjectDescriptor.crc(body, body.readerIndex(), length);
            long frame = WalObjectDescriptor.RECORD_FRAME_BYTES + (long) length;
            lock.lock();
            try {
                StrataException refused = refusal();
                if (refused != null) {
                    return CompletableFuture.failedFuture(refused);
                }
                if (writePosition + frame - durableTrim > options.capacityBytes()) {
                    return CompletableFuture.failedFuture(new BackpressureException("object-store WAL full: used="
                            + (writePosition - durableTrim) + " recordBytes=" + frame + " capacity="
                            + options.capacityBytes()));
                }
                long newObject = batch == null ? WalObjectDescriptor.HEADER_BYTES : 0;
                if (bufferedBytes + newObject + frame > options.maxBufferedBytes()) {
                    return CompletableFuture.failedFuture(new BackpressureException(
                            "object-store WAL buffers full: bufferedBytes=" + bufferedBytes + " recordBytes=" + frame
                                    + " maxBufferedBytes=" + options.maxBufferedBytes()));
                }
                if (batch == null) {
                    batch = new Batch(allocator.directBuffer(Math.min(options.flushBytes(), 64 * 1024)
                            + WalObjectDescriptor.HEADER_BYTES), writePosition);
                    batch.buf.writerIndex(WalObjectDescriptor.HEADER_BYTES);
                    bufferedBytes += WalObjectDescriptor.HEADER_BYTES;
                }
                batch.buf.writeInt(length).writeInt(crc).writeBytes(body, body.readerIndex(), length);
                long position = writePosition;
                writePosition += frame;
                bufferedBytes += frame;
                batch.add(future, position, writePosition);
                if (batch.bodyBytes() >= options.flushBytes() || earlyFlushLocked()) {
                    toStart = sealLocked();
                } else {
                    armTimerLocked(); // no-op if armed
                }
            } finally {
                lock.unlock();
            }
        } finally {
            body.release();
        }
        startPuts(toStart);
        return future;
    }

    @GuardedBy("lock")
    private StrataException refusal() {
        if (failure != null) {
            return failure;
        }
        if (closed) {
            return new StorageException("object-store WAL closed: prefix=" + options.prefix(), false);
        }
        return null;
    }

    /**
     * Waits until an append of a body of {@code bodyBytes} would not be refused for lack of room
     * (capacity and buffered bytes, by the rule {@link #append} applies), or the timeout passed.
     * Returns at once when an append would fail for another reason (failed or closed WAL, record
     * too large), and when {@link #wakeRoomWaiters} is called.
     *
     * @return whether an append would be admitted now (or fail for another reason); false on timeout
     * @throws InterruptedException if interrupted while waiting
     * @throws IllegalArgumentException if {@code bodyBytes < 0}
     */
    public boolean awaitRoom(int bodyBytes, long timeoutNanos) throws InterruptedException {
        if (bodyBytes < 0) {
            throw new IllegalArgumentException("bodyBytes must be >= 0, got " + bodyBytes);
        }
        long frame = WalObjectDescriptor.RECORD_FRAME_BYTES + (long) bodyBytes;
        long nanos = timeoutNanos;
        lock.lock();
        try {
            long generation = wakeGeneration;
            while (true) {
                if (failure != null || closed || bodyBytes > options.maxRecordBytes() || generation != wakeGeneration) {
                    return true;
                }
                long newObject = batch == null ? WalObjectDescriptor.HEADER_BYTES : 0;
                if (writePosition + frame - durableTrim <= options.capacityBytes()
                        && bufferedBytes + newObject + frame <= options.maxBufferedBytes()) {
                    return true;
                }
                if (nanos <= 0) {
                    return false;
                }
                nanos = changed.awaitNanos(nanos);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Wakes every thread in {@link #awaitRoom}: each returns {@code true}. */
    public void wakeRoomWaiters() {
        lock.lock();
        try {
            wakeGeneration++;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- trim

    /**
     * Declares everything before {@code position} no longer needed. {@code position} should be a
     * {@link WalAppendResult#nextPosition()} of an acknowledged record; a position at or below the
     * current trim point is ignored. The trim point travels in the next object's header (an empty
     * object is written within the flush interval when no record is waiting).
     *
     * @return completes once the new trim point is durable; then the objects wholly below it are
     *     deleted and its bytes no longer count in {@link #used()}
     * @throws IllegalArgumentException if {@code position} is beyond the acknowledged end
     */
    @Override
    public CompletableFuture<Void> trim(long position) {
        used = true;
        lock.lock();
        try {
            if (position > ackedEnd) {
                throw new IllegalArgumentException("trim position beyond the durable end: position=" + position
                        + " durableEnd=" + ackedEnd);
            }
            if (position <= durableTrim) {
                return CompletableFuture.completedFuture(null);
            }
            StrataException refused = refusal();
            if (refused != null) {
                return CompletableFuture.failedFuture(refused);
            }
            CompletableFuture<Void> f = new CompletableFuture<>();
            trimWaiters.add(new TrimWaiter(position, f));
            if (position > requestedTrim) {
                requestedTrim = position;
                armTimerLocked();
            }
            return f;
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- flushing

    /**
     * Seals the records waiting (and a trim point not yet written) into an object now, instead of at
     * the size or interval trigger. Does nothing if there is nothing to write.
     */
    public void flush() {
        List<Sealed> toStart;
        lock.lock();
        try {
            if (failure != null || (batch == null && requestedTrim == sealedTrim)) {
                return;
            }
            toStart = sealLocked();
        } finally {
            lock.unlock();
        }
        startPuts(toStart);
    }

    /**
     * Whether the open batch is to be sealed now because no PUT is in flight ({@link ObjectWalOptions#earlyFlush()};
     * its Javadoc has the PUT rate this allows). With a PUT in flight, the batch waits for size or the interval.
     */
    @GuardedBy("lock")
    private boolean earlyFlushLocked() {
        return options.earlyFlush() && putsInFlight == 0 && batch != null;
    }

    /**
     * Arms the interval timer for what waits, unless it is armed. It fires one flush interval after
     * the last seal, so timer seals are at least an interval apart (the PUT rate bound); if that
     * moment has passed (nothing was sealed for an interval), it fires after a short gather of a
     * tenth of the interval, so that the appends arriving together after a pause (e.g. the appenders
     * whose previous appends were just acknowledged) share one object instead of the first going
     * alone.
     */
    @GuardedBy("lock")
    private void armTimerLocked() {
        if (timer != null) {
            return;
        }
        long interval = options.flushIntervalNanos();
        long delay = Math.max(lastSealNanos + interval - scheduler.nanoTime(), interval / GATHER_FRACTION);
        long token = ++timerToken;
        timer = scheduler.schedule(() -> onTimer(token), delay);
    }

    private void onTimer(long token) {
        List<Sealed> toStart;
        lock.lock();
        try {
            if (token != timerToken) {
                return;
            }
            timer = null;
            if (failure != null || (batch == null && requestedTrim == sealedTrim)) {
                return;
            }
            toStart = sealLocked();
        } finally {
            lock.unlock();
        }
        startPuts(toStart);
    }

    /** Turns the open batch (or an empty one, for a trim point) into the next object; returns the PUTs to start. */
    @GuardedBy("lock")
    private List<Sealed> sealLocked() {
        if (timer != null) {
            timer.cancel();
            timer = null;
            timerToken++;
        }
        lastSealNanos = scheduler.nanoTime();
        Batch b = batch;
        batch = null;
        if (b == null) {
            b = new Batch(allocator.directBuffer(WalObjectDescriptor.HEADER_BYTES), writePosition);
            b.buf.writerIndex(WalObjectDescriptor.HEADER_BYTES);
            bufferedBytes += WalObjectDescriptor.HEADER_BYTES;
        }
        long seq = nextSequence++;
        int bodyLength = b.buf.writerIndex() - WalObjectDescriptor.HEADER_BYTES;
        WalObjectHeader h = new WalObjectHeader(false, epoch, writerId, seq, b.base, trimSequenceFor(requestedTrim, seq),
                requestedTrim, b.positions.size() / 2, bodyLength,
                WalObjectDescriptor.crc(b.buf, WalObjectDescriptor.HEADER_BYTES, bodyLength));
        WalObjectDescriptor.writeHeader(b.buf, h);
        sealedTrim = requestedTrim;
        Sealed s = new Sealed(seq, b.buf, b.futures, b.positions, b.base, b.base + bodyLength, requestedTrim);
        unacked.add(s);
        waiting.add(s);
        return takeSlotsLocked();
    }

    /** Lowest sequence still needed if everything before {@code trimPosition} is dropped, for an object {@code seq}. */
    @GuardedBy("lock")
    private long trimSequenceFor(long trimPosition, long seq) {
        for (long[] o : live) {
            if (o[2] > trimPosition) {
                return o[0];
            }
        }
        for (Sealed s : unacked) {
            if (s.end > trimPosition) {
                return s.seq;
            }
        }
        return seq;
    }

    @GuardedBy("lock")
    private List<Sealed> takeSlotsLocked() {
        List<Sealed> start = new ArrayList<>();
        while (putsInFlight < options.maxPutsInFlight() && !waiting.isEmpty()) {
            start.add(waiting.poll());
            putsInFlight++;
        }
        return start;
    }

    private void startPuts(List<Sealed> toStart) {
        for (Sealed s : toStart) {
            put(s);
        }
    }

    private void put(Sealed s) {
        s.attempts++;
        CompletableFuture<?> f;
        try {
            f = storage.put(keys.key(s.seq), s.buf.retainedDuplicate(), PutCondition.ifAbsent());
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        f.whenComplete((info, e) -> {
            if (e == null) {
                onDurable(s);
            } else {
                onPutFailed(s, Await.unwrap(e));
            }
        });
    }

    private void onPutFailed(Sealed s, Throwable cause) {
        if (cause instanceof PreconditionFailedException) {
            resolveCollision(s);
            return;
        }
        boolean retriable = cause instanceof StrataException se && se.isRetriable();
        if (retriable && s.attempts < options.maxPutAttempts() && !isFailed()) {
            long backoff = options.retryBackoffNanos() << Math.min(20, s.attempts - 1);
            LOG.debug("object-store WAL PUT retried: key={} attempt={} backoffNanos={}", keys.key(s.seq), s.attempts,
                    backoff, cause);
            scheduler.schedule(() -> put(s), backoff);
            return;
        }
        objectFailed(s, new StorageException("object-store WAL PUT failed: key=" + keys.key(s.seq) + " attempts="
                + s.attempts + " cause=" + cause, false, cause));
    }

    /**
     * The key exists: ours (an earlier attempt landed, its response was lost), an orphan of a
     * fenced writer (deleted, then the PUT is retried), or a newer writer's (fenced).
     */
    private void resolveCollision(Sealed s) {
        String key = keys.key(s.seq);
        storage.get(key, ByteRange.all()).whenComplete((data, e) -> {
            if (e != null) {
                Throwable cause = Await.unwrap(e);
                if (cause instanceof ObjectNotFoundException && s.attempts < options.maxPutAttempts()) {
                    put(s); // deleted in between (an orphan removed by a newer opener's fence?): try again
                } else {
                    objectFailed(s, new StorageException("object-store WAL: reading back a colliding object failed: key="
                            + key + " cause=" + cause, false, cause));
                }
                return;
            }
            StrataException fail = null;
            boolean ours = false;
            boolean orphan = false;
            try {
                if (ByteBufUtil.equals(data.content(), s.buf)) {
                    ours = true;
                } else {
                    WalObjectHeader h = WalObjectDescriptor.readHeader(data.content(), key);
                    if (h.nodeEpoch() < epoch && s.seq > fenceSequence && s.orphanDeletes < MAX_ORPHAN_DELETES) {
                        orphan = true;
                    } else {
                        fail = new StreamFencedException("object-store WAL fenced: key=" + key + " foundEpoch="
                                + h.nodeEpoch() + " foundWriter=" + h.writerId() + " ourEpoch=" + epoch
                                + " ourWriter=" + writerId);
                    }
                }
            } catch (StrataException ex) {
                fail = new StreamFencedException("object-store WAL fenced: key=" + key
                        + " holds an object this writer cannot read as its own: " + ex.getMessage(), ex);
            } finally {
                data.release();
            }
            if (ours) {
                LOG.debug("object-store WAL PUT found already applied (response lost): key={}", key);
                onDurable(s);
            } else if (orphan) {
                s.orphanDeletes++;
                LOG.info("object-store WAL deleting an older writer's unacknowledged object: key={}", key);
                storage.delete(List.of(key)).whenComplete((v, de) -> {
                    if (de == null) {
                        put(s);
                    } else {
                        objectFailed(s, new StorageException("object-store WAL: deleting an orphan failed: key="
                                + key, false, Await.unwrap(de)));
                    }
                });
            } else {
                objectFailed(s, fail);
            }
        });
    }

    private boolean isFailed() {
        lock.lock();
        try {
            return failure != null;
        } finally {
            lock.unlock();
        }
    }

    private void onDurable(Sealed s) {
        List<Sealed> toStart;
        List<String> toDelete = new ArrayList<>();
        CompletableFuture<Void> deleted = null;
        lock.lock();
        try {
            putsInFlight--;
            changed.signalAll();
            if (failure != null) {
                s.release();
                return; // never acknowledge after a failure
            }
            s.durable = true;
            while (!unacked.isEmpty() && unacked.peekFirst().durable) {
                Sealed x = unacked.poll();
                ackedEnd = x.end;
                bufferedBytes -= x.buf.writerIndex();
                live.add(new long[] {x.seq, x.base, x.end, 0});
                for (int i = 0; i < x.futures.size(); i++) {
                    CompletableFuture<WalAppendResult> f = x.futures.get(i);
                    WalAppendResult r = new WalAppendResult(x.positions.get(2 * i), x.positions.get(2 * i + 1));
                    completions.add(() -> f.complete(r));
                }
                if (x.trimPosition > durableTrim) {
                    durableTrim = x.trimPosition;
                    Iterator<TrimWaiter> it = trimWaiters.iterator();
                    while (it.hasNext()) {
                        TrimWaiter w = it.next();
                        if (w.position <= durableTrim) {
                            it.remove();
                            completions.add(() -> w.future.complete(null));
                        }
                    }
                    while (live.size() > 1 && live.peekFirst()[0] < x.seq && live.peekFirst()[2] <= durableTrim) {
                        long[] trimmed = live.poll();
                        if (trimmed[3] == 0) { // a fence object is kept for ever (class comment)
                            toDelete.add(keys.key(trimmed[0]));
                        }
                    }
                }
                x.release();
            }
            toStart = takeSlotsLocked();
            if (toStart.isEmpty() && earlyFlushLocked()) {
                toStart = sealLocked(); // the pipeline went idle with records waiting: send them now
            }
            if (!toDelete.isEmpty()) {
                deleted = new CompletableFuture<>();
                deletes = CompletableFuture.allOf(deletes, deleted); // registered before close can look
            }
        } finally {
            lock.unlock();
        }
        drain();
        startPuts(toStart);
        if (deleted != null) {
            CompletableFuture<Void> done = deleted;
            storage.delete(toDelete).whenComplete((v, e) -> {
                if (e != null) {
                    LOG.warn("object-store WAL: trimmed objects not deleted (deleted at the next open): prefix={} "
                            + "count={}", options.prefix(), toDelete.size(), Await.unwrap(e));
                }
                done.complete(null);
            });
        }
    }

    private void objectFailed(Sealed s, StrataException cause) {
        lock.lock();
        try {
            putsInFlight--;
            s.release();
            failLocked(cause);
        } finally {
            lock.unlock();
        }
        drain();
    }

    /** Fails the WAL: every unacknowledged append and trim fails, in order; nothing is acknowledged after. */
    @GuardedBy("lock")
    private void failLocked(StrataException cause) {
        changed.signalAll();
        if (failure != null) {
            return;
        }
        failure = cause;
        LOG.error("object-store WAL failed: prefix={} epoch={}", options.prefix(), epoch, cause);
        for (Sealed x : unacked) {
            for (CompletableFuture<WalAppendResult> f : x.futures) {
                completions.add(() -> f.completeExceptionally(cause));
            }
            if (x.durable) {
                x.release(); // durable behind a failed one: no PUT holds it any more
            }
        }
        unacked.clear();
        for (Sealed x : waiting) {
            x.release(); // never started: no PUT holds it
        }
        waiting.clear();
        if (batch != null) {
            for (CompletableFuture<WalAppendResult> f : batch.futures) {
                completions.add(() -> f.completeExceptionally(cause));
            }
            batch.buf.release();
            batch = null;
        }
        for (TrimWaiter w : trimWaiters) {
            completions.add(() -> w.future.completeExceptionally(cause));
        }
        trimWaiters.clear();
        if (timer != null) {
            timer.cancel();
            timer = null;
            timerToken++;
        }
        bufferedBytes = 0;
    }

    /** Runs queued completions, one drainer at a time, so they run in queue (sequence) order. */
    private void drain() {
        lock.lock();
        try {
            if (draining) {
                return; // the running drainer will run what was queued
            }
            draining = true;
        } finally {
            lock.unlock();
        }
        while (true) {
            Runnable r;
            lock.lock();
            try {
                r = completions.poll();
                if (r == null) {
                    draining = false;
                    changed.signalAll(); // close waits for the completions to have run
                    return;
                }
            } finally {
                lock.unlock();
            }
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.warn("object-store WAL: a completion callback threw", e);
            }
        }
    }

    // ---------------------------------------------------------------- recovery

    /**
     * Every record after the trim point found at open, in order, read from the objects of the chain
     * (fetched {@code recoveryReadAhead} objects ahead). Records trimmed since open are skipped.
     * May be called at any time and more than once; each call reads the objects again. The caller
     * owns each returned record's body and must release it.
     */
    @Override
    public ObjectWalRecovery recover() {
        used = true;
        long from;
        lock.lock();
        try {
            from = durableTrim;
        } finally {
            lock.unlock();
        }
        List<WalObjectHeader> objects = new ArrayList<>();
        for (WalObjectHeader h : recoveredChain) {
            if (h.recordCount() > 0 && h.endPosition() > from) {
                objects.add(h);
            }
        }
        long start = from;
        return new ObjectWalRecovery(storage, keys, objects, from, options.recoveryReadAhead(), r -> {
            RecoveryReport made = new RecoveryReport(start, openEndPosition, r.records(), r.bodyBytes(), 0,
                    RecoveryReport.StopReason.END_OF_LOG, RecoveryReport.StopReason.END_OF_LOG,
                    found.detail() + " fenceSequence=" + fenceSequence + " walEpoch=" + epoch, found.topEpoch(), List.of());
            lock.lock();
            try {
                report = made;
            } finally {
                lock.unlock();
            }
            return made;
        });
    }

    /**
     * What recovery found: records and bytes after the trim point, where the log ended and why
     * ({@code detail}: the chain and how its end was established). {@code generation} is the
     * sequence of this WAL's fence object and {@code nodeEpoch} the epoch this WAL writes with.
     * Reads every object of the chain if {@link #recover()} was not iterated to its end first.
     */
    public RecoveryReport recoveryReport() {
        lock.lock();
        try {
            if (report != null) {
                return report;
            }
        } finally {
            lock.unlock();
        }
        try (ObjectWalRecovery r = recover()) {
            while (r.hasNext()) {
                r.next().body().release();
            }
        }
        lock.lock();
        try {
            return report;
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- accounting

    /** Most log bytes between the durable trim point and the write position ({@code capacityBytes}). */
    public long capacity() {
        return options.capacityBytes();
    }

    /** Log bytes between the durable trim point and the write position. */
    public long used() {
        lock.lock();
        try {
            return writePosition - durableTrim;
        } finally {
            lock.unlock();
        }
    }

    /** {@code capacity() - used()}; an append needs its body plus {@link WalObjectDescriptor#RECORD_FRAME_BYTES}. */
    public long free() {
        return capacity() - used();
    }

    /** Position the next record starts at (everything below it was accepted; not all is durable yet). */
    public long writePosition() {
        lock.lock();
        try {
            return writePosition;
        } finally {
            lock.unlock();
        }
    }

    /** Most direct memory this WAL holds for writes: {@code maxBufferedBytes} (recovery reads come on top). */
    public long directMemoryBytes() {
        return options.maxBufferedBytes();
    }

    /** {@code "objectstore"}. */
    public String backend() {
        return "objectstore";
    }

    /** The node epoch this WAL writes with: above every epoch found at open. */
    public long nodeEpoch() {
        return epoch;
    }

    /**
     * Records the store's node epoch (from its metadata registration), logged beside this WAL's own
     * epoch. This WAL does not need it to fence: it fenced every earlier writer of its prefix at open,
     * with an epoch above every one it found there, so a takeover is effective from the open on,
     * before the store registers with its metadata.
     *
     * @throws IllegalStateException if called twice, or after the WAL was recovered, appended to or trimmed
     */
    @Override
    public void assignNodeEpoch(long nodeEpoch) {
        if (used || assignedNodeEpoch >= 0) {
            throw new IllegalStateException("the node epoch is assigned once, before the WAL is used: prefix="
                    + options.prefix() + " assigned=" + assignedNodeEpoch + " used=" + used);
        }
        assignedNodeEpoch = nodeEpoch;
        LOG.info("object-store WAL {}: store node epoch {} (WAL epoch {})", options.prefix(), nodeEpoch, epoch);
    }

    /** The largest record body {@link #append} accepts ({@link ObjectWalOptions#maxRecordBytes()}). */
    @Override
    public int maxRecordBytes() {
        return (int) options.maxRecordBytes(); // below Integer.MAX_VALUE by construction
    }

    /** Sequence of the fence object this WAL wrote at open; its records start at the next one. */
    public long fenceSequence() {
        return fenceSequence;
    }

    /** Sequence the next sealed object gets. */
    public long nextSequence() {
        lock.lock();
        try {
            return nextSequence;
        } finally {
            lock.unlock();
        }
    }

    /** The failure that stopped this WAL, or null. */
    public StrataException failure() {
        lock.lock();
        try {
            return failure;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops accepting appends, seals the records waiting, waits until every sealed object is durable
     * (or failed), its future completed, and the deletes of trimmed objects finished, and stops the timer thread if this WAL made it. Does not close the object
     * storage. Appends after close fail with a non-retriable {@code StorageException}. Idempotent.
     */
    @Override
    public void close() {
        List<Sealed> toStart = List.of();
        lock.lock();
        try {
            if (!closed) {
                closed = true;
                if (failure == null && (batch != null || requestedTrim != sealedTrim)) {
                    toStart = sealLocked();
                }
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
        startPuts(toStart);
        boolean interrupted = false;
        lock.lock();
        try {
            while (putsInFlight > 0 || (failure == null && !unacked.isEmpty()) || draining || !completions.isEmpty()) {
                try {
                    changed.await();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (timer != null) {
                timer.cancel();
                timer = null;
            }
        } finally {
            lock.unlock();
        }
        CompletableFuture<Void> pendingDeletes;
        lock.lock();
        try {
            pendingDeletes = deletes;
        } finally {
            lock.unlock();
        }
        pendingDeletes.join(); // never fails: failures were logged
        if (ownedScheduler != null) {
            ownedScheduler.shutdownNow();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** The write state, for diagnostics. */
    String debugState() {
        lock.lock();
        try {
            return "prefix=" + options.prefix() + " epoch=" + epoch + " closed=" + closed + " failure=" + failure
                    + " putsInFlight=" + putsInFlight + " unacked=" + unacked.size() + " waiting=" + waiting.size()
                    + " batch=" + (batch != null) + " nextSequence=" + nextSequence + " writePosition=" + writePosition
                    + " ackedEnd=" + ackedEnd + " durableTrim=" + durableTrim + " requestedTrim=" + requestedTrim;
        } finally {
            lock.unlock();
        }
    }

    /** Encodes an object: {@code h}'s header then {@code body} (null: none). Caller releases the result. */
    static ByteBuf encode(ByteBufAllocator allocator, WalObjectHeader h, ByteBuf body) {
        int bodyLength = body == null ? 0 : body.readableBytes();
        ByteBuf buf = allocator.directBuffer(WalObjectDescriptor.HEADER_BYTES + bodyLength);
        buf.writerIndex(WalObjectDescriptor.HEADER_BYTES);
        if (body != null) {
            buf.writeBytes(body, body.readerIndex(), bodyLength);
        }
        WalObjectDescriptor.writeHeader(buf, h);
        return buf;
    }

    /** Records gathered for the next object. Guarded by the WAL's lock. */
    private static final class Batch {
        final ByteBuf buf;
        final long base;
        final List<CompletableFuture<WalAppendResult>> futures = new ArrayList<>();
        /** position, nextPosition per record. */
        final LongList positions = new LongList();

        Batch(ByteBuf buf, long base) {
            this.buf = buf;
            this.base = base;
        }

        void add(CompletableFuture<WalAppendResult> f, long position, long next) {
            futures.add(f);
            positions.add(position);
            positions.add(next);
        }

        int bodyBytes() {
            return buf.writerIndex() - WalObjectDescriptor.HEADER_BYTES;
        }
    }

    /** A sealed object, from seal to acknowledgement or failure. Fields other than final ones guarded by the WAL's lock. */
    private static final class Sealed {
        final long seq;
        final ByteBuf buf;
        final List<CompletableFuture<WalAppendResult>> futures;
        final LongList positions;
        final long base;
        final long end;
        final long trimPosition;
        int attempts; // touched by one PUT chain at a time
        int orphanDeletes;
        boolean durable;
        private boolean released;

        Sealed(long seq, ByteBuf buf, List<CompletableFuture<WalAppendResult>> futures, LongList positions, long base,
                long end, long trimPosition) {
            this.seq = seq;
            this.buf = buf;
            this.futures = futures;
            this.positions = positions;
            this.base = base;
            this.end = end;
            this.trimPosition = trimPosition;
        }

        void release() {
            if (!released) {
                released = true;
                buf.release();
            }
        }
    }

    private record TrimWaiter(long position, CompletableFuture<Void> future) {
    }

    /** A growable list of longs (positions), without boxing. Not thread-safe. */
    static final class LongList {
        private long[] values = new long[16];
        private int size;

        void add(long v) {
            if (size == values.length) {
                values = java.util.Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        long get(int i) {
            return values[i];
        }

        int size() {
            return size;
        }
    }
}
