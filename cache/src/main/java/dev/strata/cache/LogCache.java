package dev.strata.cache;

import dev.strata.api.BackpressureException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Recently appended batches of every stream, shared by reference with tailing readers and with the
 * uploader. Bounded in bytes.
 *
 * <h2>Use by the engine</h2>
 * <ol>
 *   <li>Before writing an append to the WAL: {@link #reserve(long)}. It evicts uploaded data if
 *       needed, holds the room for the append, and throws {@link BackpressureException} when the
 *       cache is full of data that is not yet in object storage and of other appends' reservations.
 *       ({@link #requireRoomFor(long)} and {@link #hasRoomFor} check without reserving.)</li>
 *   <li>After the append is acknowledged: {@link #insert(long, long, int, int, ByteBuf, long)},
 *       which turns the reservation into the batch's memory; if the append fails instead,
 *       {@link #cancelReservation}. Insert always keeps the batch (it must still be uploaded) and
 *       returns {@link InsertStatus#OVER_CAPACITY} when the limit was passed (only possible for
 *       batches inserted without a reservation, as WAL replay does).</li>
 *   <li>Tail fetch: {@link #fetch}; a miss means "read from objects".</li>
 *   <li>Upload: {@link #sealForUpload()} returns the sealed blocks; once the object is committed,
 *       {@link #markUploaded(long)} makes the block evictable; on failure {@link #abortUpload(long)}.</li>
 * </ol>
 *
 * <h2>Thread-safety</h2>
 * All methods are thread-safe. {@link #fetch} takes only the stream's read lock, so tail reads of
 * different streams, and tail reads concurrent with appends to other streams, do not contend.
 * {@link #insert}s of different streams run concurrently, and {@link #hasRoomFor} takes no lock
 * while the cache is under its limit.
 *
 * <h2>Ownership</h2>
 * {@link #insert} takes ownership of the batch buffer (one reference), also when it throws. Results
 * ({@link LogCacheFetch}, {@link SealedBlock}) keep the buffers they show alive until the caller
 * closes them: a fetch holds its own reference of each batch, a sealed block shares its block's.
 */
public final class LogCache implements AutoCloseable {
    /*
     * Design
     *
     * Structure: a FIFO of blocks (oldest first). The last block is OPEN and receives inserts; it is
     * SEALED when it reaches blockSizeBytes or when the uploader asks (sealForUpload), then TAKEN
     * by the uploader, then UPLOADED once the engine says its object is committed. Only UPLOADED
     * blocks are evictable, and only from the head of the FIFO: the per-stream indexes then only
     * ever lose their oldest entries, so each stream's cached range stays contiguous
     * [firstOffset, nextOffset) and "start offset below the cached range" is exactly a miss. An
     * uploaded block behind a not-yet-uploaded one waits (uploads normally commit in order).
     *
     * Each batch is referenced from its block (which owns the buffer reference, released when
     * the cache evicted the block and every SealedBlock of it is closed) and from its
     * stream's StreamIndex (a sorted array with binary search, O(log n) lookup). trim and
     * dropStream only change the indexes; the memory is reclaimed when the block is evicted, because
     * the block is the unit the uploader writes.
     *
     * Concurrency: `lock` is a read/write lock. Inserts hold its read lock, so inserts of different
     * streams run concurrently; everything that changes the structure (sealForUpload, markUploaded,
     * abortUpload, eviction, dropStream, close) holds its write lock, so it sees every insert that
     * completed before it and none that is half done. That is what the uploader relies on: after
     * sealForUpload returns, every insert that returned before the call is in a block it returned
     * (or in one taken earlier). Under the read lock an insert
     *   - appends to its StreamIndex under the stream's write lock (contiguity check), and adds the
     *     batch to the open block while still holding it: a stream's batches enter the blocks in
     *     offset order, since the open block only ever moves forward;
     *   - adds to the open block without a lock (LogCacheBlock: a lock-free queue and an atomic
     *     size); creating the open block, appending it to the FIFO, and sealing it when the insert
     *     that crosses blockSizeBytes returns are done under the `rollover` monitor. A batch may
     *     still land in a block sealed by size a moment before (the block is then slightly larger):
     *     it is not taken yet, since taking needs the write lock;
     *   - counts its bytes in the atomic usedBytes/unuploadedBytes, and evicts (write lock) only
     *     when the cache is over its limit.
     * hasRoomFor reads usedBytes without a lock and takes the write lock only to evict.
     * Each StreamIndex has its own read/write lock. Lock order: `lock`, then a StreamIndex lock,
     * then `rollover`; fetch takes only a StreamIndex read lock and retains the buffers under it,
     * and eviction removes the entry from the index under its write lock before releasing the
     * buffer, so a reader never retains a freed buffer.
     *
     * Backpressure: the cache never drops acknowledged data that is not uploaded. Admission is done
     * before the WAL write with reserve: usedBytes + reservedBytes stays within capacityBytes, so
     * the cache and the appends in flight towards it share one limit. insert adds the batch to
     * usedBytes before taking its reservation off (briefly counted twice, never zero times).
     * Inserts without a reservation (WAL replay) may pass the limit; insert reports OVER_CAPACITY.
     */

    private static final Logger LOG = LoggerFactory.getLogger(LogCache.class);

    /** Default byte limit: 256 MiB, a few seconds of appends at a high ingest rate. */
    public static final long DEFAULT_CAPACITY_BYTES = 256L << 20;
    /** Default block size: 8 MiB, a good size for one object upload slice and for eviction. */
    public static final long DEFAULT_BLOCK_SIZE_BYTES = 8L << 20;

    private final long capacityBytes;
    private final long blockSizeBytes;
    /** Bytes promised to appends admitted by {@link #reserve} and not yet inserted or cancelled. */
    private final AtomicLong reservedBytes = new AtomicLong();

    /** Read lock: inserts. Write lock: every change of the block FIFO other than adding a block. */
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    /** Among inserts (read lock held): creating, adding and sealing-by-size the open block. */
    private final Object rollover = new Object();
    // oldest first, the last one is the open block (if any). Changed under the write lock, or by
    // addLast under rollover with the read lock; read under the write lock or under rollover
    private final ArrayDeque<LogCacheBlock> blocks = new ArrayDeque<>();
    // written under the write lock or under rollover with the read lock; read by inserts without rollover
    private volatile LogCacheBlock open;
    // guarded by rollover (or the write lock)
    private long nextBlockId;
    // written under the write lock, read under the read lock
    private volatile boolean closed;
    // read anywhere; eviction subtracts under the write lock
    private final AtomicLong usedBytes = new AtomicLong();
    // read anywhere
    private final AtomicLong unuploadedBytes = new AtomicLong();

    private final ConcurrentHashMap<Long, StreamIndex> streams = new ConcurrentHashMap<>();

    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    // written under the write lock
    private long evictedBlocks;
    // written under the write lock
    private long evictedBytes;

    /** Free slabs kept ready ahead of appends: about half a second of a fast ingest of small batches. */
    private static final int SLAB_RESERVE = 8;

    /** Where {@link #allocate} carves insert buffers (inserts of those keep a slab position, not the buffer), or null. */
    private final AppendSlabs slabs;

    private LogCache(Builder b) {
        this.capacityBytes = b.capacityBytes;
        this.blockSizeBytes = b.blockSizeBytes;
        this.slabs = b.slabAllocator == null ? null
                : new AppendSlabs(b.slabAllocator, AppendSlabs.slabsFor(b.capacityBytes), SLAB_RESERVE);
    }

    /** A builder with the defaults {@link #DEFAULT_CAPACITY_BYTES} and {@link #DEFAULT_BLOCK_SIZE_BYTES}. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A direct buffer of exactly {@code bytes} capacity (writer index 0) for a batch to insert later:
     * carved from a slab when the cache has a {@linkplain Builder#slabAllocator slab allocator}, so
     * that the cached batch costs no heap object of its own. The caller owns it (one reference), and
     * hands it to {@link #insert} or releases it. Thread-safe; after {@link #close()} buffers come
     * from the pool directly.
     *
     * @throws IllegalArgumentException if {@code bytes < 0}
     */
    public ByteBuf allocate(int bytes) {
        if (slabs == null) {
            if (bytes < 0) {
                throw new IllegalArgumentException("bytes must be >= 0, got " + bytes);
            }
            return io.netty.buffer.PooledByteBufAllocator.DEFAULT.directBuffer(bytes, bytes);
        }
        return slabs.allocate(bytes);
    }

    /**
     * Caches an acknowledged batch. Takes ownership of {@code data} (one reference), also when it
     * throws. The batch is kept even when the cache is over its limit, because it has not been
     * uploaded yet; the status reports that case.
     *
     * @param streamId the stream
     * @param baseOffset offset of the batch's first record; must equal the end of the previous batch
     *     inserted for this stream (if any is still known)
     * @param count number of records, >= 1
     * @param sizeBytes payload bytes, counted against a fetch's {@code maxBytes}
     * @param data the encoded batch; memory is accounted as {@code data.readableBytes()}
     * @return {@link InsertStatus#OVER_CAPACITY} when the engine must apply backpressure
     * @throws IllegalArgumentException for invalid arguments or a non-contiguous base offset
     * @throws IllegalStateException if the cache is closed
     */
    public InsertStatus insert(long streamId, long baseOffset, int count, int sizeBytes, ByteBuf data) {
        return insert(streamId, baseOffset, count, sizeBytes, data, 0);
    }

    /**
     * {@link #insert(long, long, int, int, ByteBuf)} of a batch admitted with {@link #reserve}: the
     * reservation of {@code reservedBytes} becomes the batch's memory (also when this throws).
     *
     * @param reservedBytes what {@link #reserve} promised this batch ({@code data.readableBytes()})
     */
    public InsertStatus insert(long streamId, long baseOffset, int count, int sizeBytes, ByteBuf data,
            long reservedBytes) {
        try {
            return doInsert(streamId, baseOffset, count, sizeBytes, data);
        } finally {
            if (reservedBytes > 0) {
                this.reservedBytes.addAndGet(-reservedBytes); // after the batch is counted: never under-counted
            }
        }
    }

    private InsertStatus doInsert(long streamId, long baseOffset, int count, int sizeBytes, ByteBuf data) {
        if (data == null) {
            throw new IllegalArgumentException("data must not be null");
        }
        boolean owned = true; // whether data is still ours to release (a slab row keeps a slab hold instead)
        try {
            if (baseOffset < 0 || count < 1 || sizeBytes < 0) {
                throw new IllegalArgumentException("invalid LogCache insert: stream=" + streamId
                        + " baseOffset=" + baseOffset + " count=" + count + " sizeBytes=" + sizeBytes);
            }
            int length = data.readableBytes();
            long used;
            lock.readLock().lock();
            try {
                if (closed) {
                    throw new IllegalStateException("LogCache is closed");
                }
                StreamIndex index = streams.computeIfAbsent(streamId, StreamIndex::new);
                index.lock.writeLock().lock();
                try {
                    index.checkContiguous(baseOffset); // before the block takes the bytes
                    Object mem;
                    int memIndex;
                    if (slabs != null && data instanceof AppendSlabs.CarvedBuffer carved && carved.carvedBy(slabs)) {
                        AppendSlabs.Slab slab = carved.slab();
                        slab.hold(); // the row's hold; the buffer object is dropped below
                        mem = slab;
                        memIndex = carved.slabIndex() + data.readerIndex();
                    } else {
                        mem = data; // the row owns the buffer's reference
                        memIndex = 0;
                        owned = false;
                    }
                    addToOpenBlock(index, baseOffset, count, sizeBytes, mem, memIndex, length); // under the stream's lock: its batches enter blocks in order
                } finally {
                    index.lock.writeLock().unlock();
                }
                unuploadedBytes.addAndGet(length);
                used = usedBytes.addAndGet(length);
            } finally {
                lock.readLock().unlock();
            }
            if (used > capacityBytes) {
                List<LogCacheBlock> evicted;
                lock.writeLock().lock();
                try {
                    evicted = evictUntilFits(0);
                    used = usedBytes.get();
                } finally {
                    lock.writeLock().unlock();
                }
                releaseEvicted(evicted);
            }
            return used > capacityBytes ? InsertStatus.OVER_CAPACITY : InsertStatus.OK;
        } finally {
            if (owned) {
                data.release();
            }
        }
    }

    /**
     * Adds an inserted batch to the open block (and its stream's index), creating the block if
     * needed, and seals the block when this batch fills it. Caller holds the read lock and the
     * stream's write lock.
     */
    private void addToOpenBlock(StreamIndex index, long baseOffset, int count, int sizeBytes, Object mem,
            int memIndex, int length) {
        LogCacheBlock block = open;
        if (block == null) {
            synchronized (rollover) {
                block = open;
                if (block == null) {
                    block = new LogCacheBlock(nextBlockId++, slabs);
                    blocks.addLast(block);
                    open = block;
                }
            }
        }
        long after = block.add(index, baseOffset, count, sizeBytes, mem, memIndex, length);
        if (after >= blockSizeBytes && after - length < blockSizeBytes) { // this batch filled it
            synchronized (rollover) {
                if (open == block) {
                    sealOpenBlock();
                }
            }
        }
    }

    /**
     * Whether {@code bytes} more fit under the limit, after evicting uploaded blocks as needed.
     * Takes no lock while they fit without evicting.
     *
     * @throws IllegalArgumentException if {@code bytes < 0}
     */
    public boolean hasRoomFor(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0, got " + bytes);
        }
        if (committedBytes() + bytes <= capacityBytes) {
            return true;
        }
        List<LogCacheBlock> evicted;
        boolean fits;
        lock.writeLock().lock();
        try {
            evicted = evictUntilFits(reservedBytes.get() + bytes);
            fits = committedBytes() + bytes <= capacityBytes;
        } finally {
            lock.writeLock().unlock();
        }
        releaseEvicted(evicted);
        return fits;
    }

    /**
     * Cached plus reserved bytes. Reads the reservations first: an insert adds its batch to
     * usedBytes before it takes its reservation off, so this order can count an insert twice but
     * never zero times.
     */
    private long committedBytes() {
        long reserved = reservedBytes.get();
        return reserved + usedBytes.get();
    }

    /**
     * Admission check for an append of {@code bytes}, done before the WAL write, without reserving.
     *
     * @throws BackpressureException (retriable) when the cache is full of data not yet uploaded
     * @throws IllegalArgumentException if {@code bytes < 0}
     */
    public void requireRoomFor(long bytes) {
        if (!hasRoomFor(bytes)) {
            throw full(bytes);
        }
    }

    /**
     * Admits an append of {@code bytes} and holds that room for it until it is inserted (with
     * {@link #insert(long, long, int, int, ByteBuf, long)}) or the append fails
     * ({@link #cancelReservation}). Cached and reserved bytes together never exceed the capacity, so
     * appends in flight between admission and insert are inside the limit too. Evicts uploaded
     * blocks as needed.
     *
     * @throws BackpressureException (retriable) when the cache is full of data not yet uploaded and
     *     of reservations
     * @throws IllegalArgumentException if {@code bytes < 0}
     */
    public void reserve(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0, got " + bytes);
        }
        // Add first, then check, and take it back if it does not fit: concurrent reservations then
        // only ever see each other (a check-then-add could let two both pass the last free room).
        for (int attempt = 0; ; attempt++) {
            long reserved = reservedBytes.addAndGet(bytes);
            if (reserved + usedBytes.get() <= capacityBytes) {
                return;
            }
            reservedBytes.addAndGet(-bytes);
            if (attempt > 0 || !hasRoomFor(bytes)) { // hasRoomFor evicts uploaded blocks to make room
                throw full(bytes);
            }
        }
    }

    /** Gives back a reservation of an append that will not be inserted. */
    public void cancelReservation(long bytes) {
        reservedBytes.addAndGet(-bytes);
    }

    /** Bytes reserved by appends in flight (admitted, not yet inserted). */
    public long reservedBytes() {
        return reservedBytes.get();
    }

    private BackpressureException full(long bytes) {
        return new BackpressureException("log cache full of data not yet uploaded: bytes=" + bytes
                + " usedBytes=" + usedBytes.get() + " reservedBytes=" + reservedBytes.get()
                + " unuploadedBytes=" + unuploadedBytes.get() + " capacityBytes=" + capacityBytes);
    }

    /**
     * Reads cached batches of a stream, with the fetch semantics of {@code dev.strata.api.Stream}:
     * whole batches from the one containing {@code startOffset}, stopping before the first batch
     * whose base is {@code >= endOffset} and, after the first batch, before exceeding
     * {@code maxBytes} of payload.
     *
     * <p>Returns a miss when the stream has nothing cached at {@code startOffset} (below the cached
     * range, above the end, or unknown stream). A start exactly at the end of the stream's inserted
     * data is an empty hit. The caller closes the result.
     *
     * @throws IllegalArgumentException if {@code startOffset < 0}, {@code endOffset < startOffset}
     *     or {@code maxBytes < 0}
     */
    public LogCacheFetch fetch(long streamId, long startOffset, long endOffset, int maxBytes) {
        if (startOffset < 0 || endOffset < startOffset || maxBytes < 0) {
            throw new IllegalArgumentException("invalid LogCache fetch: stream=" + streamId + " startOffset="
                    + startOffset + " endOffset=" + endOffset + " maxBytes=" + maxBytes);
        }
        StreamIndex index = streams.get(streamId);
        if (index == null) {
            misses.increment();
            return LogCacheFetch.miss();
        }
        index.lock.readLock().lock();
        try {
            if (startOffset == index.nextOffset()) {
                hits.increment();
                return LogCacheFetch.hit(List.of(), startOffset);
            }
            int pos = index.find(startOffset);
            if (pos < 0) {
                misses.increment();
                return LogCacheFetch.miss();
            }
            List<CachedBatch> out = new ArrayList<>();
            long next = index.collect(pos, endOffset, maxBytes, out, slabs);
            hits.increment();
            return LogCacheFetch.hit(out, out.isEmpty() ? startOffset : next);
        } finally {
            index.lock.readLock().unlock();
        }
    }

    /**
     * The lowest offset the cache can serve for a stream, or -1 when it holds none of its batches:
     * a fetch below it is a miss.
     */
    public long firstCachedOffset(long streamId) {
        StreamIndex index = streams.get(streamId);
        if (index == null) {
            return -1;
        }
        index.lock.readLock().lock();
        try {
            return index.firstOffset();
        } finally {
            index.lock.readLock().unlock();
        }
    }

    /**
     * The end (exclusive) of the batches inserted for a stream, or -1 for a stream the cache does
     * not know (never inserted, or dropped).
     */
    public long nextOffset(long streamId) {
        StreamIndex index = streams.get(streamId);
        if (index == null) {
            return -1;
        }
        index.lock.readLock().lock();
        try {
            return index.nextOffset();
        } finally {
            index.lock.readLock().unlock();
        }
    }

    /**
     * Seals the open block (if it holds anything) and hands every sealed block that no upload has
     * taken yet to the caller, oldest first. Each result keeps its block's buffers alive: close it
     * after the upload. The blocks stay in the cache (readable, not evictable) until
     * {@link #markUploaded}. Holds the lock that stops inserts for time proportional to the number
     * of blocks, not of batches.
     *
     * @throws IllegalStateException if the cache is closed
     */
    public List<SealedBlock> sealForUpload() {
        List<LogCacheBlock> taken = new ArrayList<>();
        lock.writeLock().lock();
        try {
            if (closed) {
                throw new IllegalStateException("LogCache is closed");
            }
            if (open != null && !open.isEmpty()) {
                sealOpenBlock();
            }
            // O(blocks) under the lock, which stops every insert: no work per batch here
            for (LogCacheBlock block : blocks) {
                if (block.state == LogCacheBlock.State.SEALED) {
                    block.state = LogCacheBlock.State.TAKEN;
                    block.retainBuffers();
                    taken.add(block);
                }
            }
        } finally {
            lock.writeLock().unlock();
        }
        List<SealedBlock> out = new ArrayList<>(taken.size());
        for (LogCacheBlock block : taken) {
            out.add(new SealedBlock(block)); // a taken block is frozen, and its buffers are retained for it
        }
        return out;
    }

    /**
     * Records that the block is safely in object storage: it becomes evictable. Evicts uploaded
     * blocks if the cache is over its limit.
     *
     * @throws IllegalArgumentException if no taken block has this id
     */
    public void markUploaded(long blockId) {
        List<LogCacheBlock> evicted;
        lock.writeLock().lock();
        try {
            LogCacheBlock block = takenBlock(blockId, "markUploaded");
            block.state = LogCacheBlock.State.UPLOADED;
            unuploadedBytes.addAndGet(-block.memoryBytes());
            evicted = evictUntilFits(0);
        } finally {
            lock.writeLock().unlock();
        }
        releaseEvicted(evicted);
    }

    /**
     * Records that the upload of a taken block failed: the next {@link #sealForUpload()} returns it
     * again.
     *
     * @throws IllegalArgumentException if no taken block has this id
     */
    public void abortUpload(long blockId) {
        lock.writeLock().lock();
        try {
            takenBlock(blockId, "abortUpload").state = LogCacheBlock.State.SEALED;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Forgets cached batches of the stream that end at or below {@code newStartOffset}: fetches
     * below it miss. Memory is reclaimed when their blocks are evicted.
     */
    public void trim(long streamId, long newStartOffset) {
        StreamIndex index = streams.get(streamId);
        if (index == null) {
            return;
        }
        index.lock.writeLock().lock();
        try {
            index.trim(newStartOffset);
        } finally {
            index.lock.writeLock().unlock();
        }
    }

    /**
     * Forgets a stream (deleted, or re-opened elsewhere): later fetches miss and the next insert
     * starts a new range at any offset. Its batches are still handed to the uploader with their
     * blocks, and their memory is reclaimed when the blocks are evicted.
     */
    public void dropStream(long streamId) {
        lock.writeLock().lock(); // so that no insert is between computeIfAbsent and append
        try {
            streams.remove(streamId);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Encoded bytes held. */
    public long usedBytes() {
        return usedBytes.get();
    }

    /** Bytes held that are not yet in object storage. */
    public long unuploadedBytes() {
        return unuploadedBytes.get();
    }

    /** Size at which a block is sealed: the unit of upload and eviction. */
    public long blockSizeBytes() {
        return blockSizeBytes;
    }

    /** The byte limit. */
    public long capacityBytes() {
        return capacityBytes;
    }

    /** A snapshot of the counters. */
    public LogCacheStats stats() {
        lock.readLock().lock();
        try {
            int blockCount;
            synchronized (rollover) {
                blockCount = blocks.size();
            }
            return new LogCacheStats(capacityBytes, usedBytes.get(), unuploadedBytes.get(), blockCount, hits.sum(),
                    misses.sum(), evictedBlocks, evictedBytes);
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Releases every buffer the cache holds; later inserts fail and fetches miss. Results already
     * handed out stay valid until closed. Idempotent.
     */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            streams.clear();
            for (LogCacheBlock block : blocks) {
                block.releaseBuffers(); // a SealedBlock still open keeps them until it is closed
            }
            blocks.clear();
            open = null;
            usedBytes.set(0);
            unuploadedBytes.set(0);
        } finally {
            lock.writeLock().unlock();
        }
        if (slabs != null) {
            slabs.close(); // slabs still held by open results go back to the pool as those are closed
        }
    }

    // under the write lock, or under rollover with the read lock
    private void sealOpenBlock() {
        open.state = LogCacheBlock.State.SEALED;
        open = null;
    }

    // under the write lock
    private LogCacheBlock takenBlock(long blockId, String op) {
        for (LogCacheBlock block : blocks) {
            if (block.id == blockId) {
                if (block.state != LogCacheBlock.State.TAKEN) {
                    throw new IllegalArgumentException(op + " of a block not taken for upload: blockId=" + blockId
                            + " state=" + block.state);
                }
                return block;
            }
        }
        throw new IllegalArgumentException(op + " of an unknown block: blockId=" + blockId);
    }

    /**
     * Evicts uploaded blocks from the head while {@code extraBytes} more would not fit. Under the write
     * lock. Returns the evicted blocks: pass them to {@link #releaseEvicted} after unlocking (freeing a
     * block's thousands of buffers takes the allocator's locks; inserts must not wait for that). They
     * are out of every index already, so no new reader can reach their buffers.
     */
    private List<LogCacheBlock> evictUntilFits(long extraBytes) {
        List<LogCacheBlock> evicted = List.of();
        while (usedBytes.get() + extraBytes > capacityBytes && !blocks.isEmpty()
                && blocks.peekFirst().state == LogCacheBlock.State.UPLOADED) {
            LogCacheBlock block = blocks.pollFirst();
            if (evicted.isEmpty()) {
                evicted = new ArrayList<>();
            }
            evicted.add(block);
            block.evictFrom(streams);
            long bytes = block.memoryBytes();
            usedBytes.addAndGet(-bytes);
            evictedBlocks++;
            evictedBytes += bytes;
            if (LOG.isDebugEnabled()) {
                LOG.debug("evicted log cache block: id={} bytes={} usedBytes={}", block.id, bytes, usedBytes.get());
            }
        }
        return evicted;
    }

    /** Lets go of evicted blocks' buffers (the cache's holder of each); call without the cache's locks. */
    private static void releaseEvicted(List<LogCacheBlock> evicted) {
        for (LogCacheBlock block : evicted) {
            block.releaseBuffers();
        }
    }

    /**
     * Validating builder. Each setter checks its argument when called.
     */
    public static final class Builder {
        private long capacityBytes = DEFAULT_CAPACITY_BYTES;
        private long blockSizeBytes = DEFAULT_BLOCK_SIZE_BYTES;
        private ByteBufAllocator slabAllocator;

        private Builder() {
        }

        /**
         * Lets {@link LogCache#allocate} carve insert buffers out of 1 MiB slabs of
         * {@code allocator}: the cache then keeps a batch inserted in such a buffer as a position in
         * its slab, with no heap object per cached batch, and hands readers views of it (see
         * {@link AppendSlabs}). Default: none ({@code allocate} takes buffers from the default pool,
         * and inserted buffers are kept as they are).
         *
         * @throws IllegalArgumentException if {@code allocator} is null
         */
        public Builder slabAllocator(ByteBufAllocator allocator) {
            if (allocator == null) {
                throw new IllegalArgumentException("allocator must not be null");
            }
            this.slabAllocator = allocator;
            return this;
        }

        /**
         * Byte limit of the cache.
         *
         * @throws IllegalArgumentException if {@code bytes < 1}
         */
        public Builder capacityBytes(long bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("capacityBytes must be >= 1, got " + bytes);
            }
            this.capacityBytes = bytes;
            return this;
        }

        /**
         * Size at which the open block is sealed automatically.
         *
         * @throws IllegalArgumentException if {@code bytes < 1}
         */
        public Builder blockSizeBytes(long bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("blockSizeBytes must be >= 1, got " + bytes);
            }
            this.blockSizeBytes = bytes;
            return this;
        }

        /**
         * Builds the cache.
         *
         * @throws IllegalArgumentException if {@code blockSizeBytes > capacityBytes}
         */
        public LogCache build() {
            if (blockSizeBytes > capacityBytes) {
                throw new IllegalArgumentException("blockSizeBytes must be <= capacityBytes, got blockSizeBytes="
                        + blockSizeBytes + " capacityBytes=" + capacityBytes);
            }
            return new LogCache(this);
        }
    }
}
