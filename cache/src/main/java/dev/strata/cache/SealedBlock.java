package dev.strata.cache;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.netty.buffer.ByteBuf;
import java.util.List;

/**
 * A sealed block of the {@link LogCache} taken by the uploader: the batches of one time slice in
 * append order (interleaved streams). The uploader writes them to an object, then calls
 * {@link LogCache#markUploaded(long)} with {@link #id()} once the object is committed (or
 * {@link LogCache#abortUpload(long)} if the upload failed), and {@link #close()}s this.
 *
 * <p><b>Buffers:</b> the batches share their bytes with the cache (taking a block does no work per
 * batch, so sealing does not hold the cache's lock for long; {@link #batches()} makes the views, off
 * the cache's locks, or {@link #retainedData} makes one at a time for a caller that goes through the
 * rows by {@link #streamId} and {@link #encodedBytes}). This object keeps them alive, also after the cache evicted the block or was
 * closed, until {@link #close()}. Readers must not change a batch buffer's content or indices: read
 * with absolute gets, or take a {@code duplicate()} / {@code retainedDuplicate()}.
 *
 * <p>{@code close()} is idempotent; not thread-safe for concurrent close.
 */
public final class SealedBlock implements AutoCloseable {
    private final LogCacheBlock block;
    @GuardedBy("this")
    private List<CachedBatch> batches; // listed on first use, off the cache's locks
    @GuardedBy("this")
    private boolean closed;

    /** @param block a taken block whose buffers the caller retained for this object */
    SealedBlock(LogCacheBlock block) {
        this.block = block;
    }

    /** The block id to pass to {@link LogCache#markUploaded(long)}; increases with append order. */
    public long id() {
        return block.id;
    }

    /** The batches in append order. */
    public synchronized List<CachedBatch> batches() {
        if (batches == null) {
            batches = block.retainedBatches(); // a taken block receives no more batches
        }
        return batches;
    }

    /** Number of batches, in append order (rows {@code 0..size()-1} of {@link #streamId} and {@link #retainedData}). */
    public int size() {
        return block.batchCount();
    }

    /**
     * Stream of the batch in row {@code row}: with {@link #encodedBytes} and {@link #retainedData}, a
     * way to go through the batches that makes no object per batch until its bytes are needed
     * (an upload of many small batches otherwise keeps a view object per batch alive for the whole
     * upload, which the young collections copy).
     *
     * @throws IndexOutOfBoundsException if {@code row} is not in {@code [0, size())} (call before
     *     {@link #close()}: the rows may be gone after it)
     */
    public long streamId(int row) {
        checkRow(row);
        return block.streamIdAt(row);
    }

    /** Encoded bytes of the batch in row {@code row}. */
    public int encodedBytes(int row) {
        checkRow(row);
        return block.lengthAt(row);
    }

    /**
     * The encoded batch in row {@code row} as a new buffer with one reference that the caller owns
     * and releases (it keeps the bytes alive on its own, also after {@link #close()}).
     *
     * @throws IllegalStateException if this was closed
     */
    public ByteBuf retainedData(int row) {
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("sealed block " + block.id + " is closed");
            }
            checkRow(row);
            return block.retainedViewAt(row);
        }
    }

    private void checkRow(int row) {
        int size = block.batchCount();
        if (row < 0 || row >= size) {
            throw new IndexOutOfBoundsException("row " + row + " of a sealed block of " + size + " batches");
        }
    }

    /** Encoded bytes of all batches. */
    public long memoryBytes() {
        return block.memoryBytes();
    }

    /** Lets go of the buffers (the cache keeps them until it evicts the block). */
    @Override
    public void close() {
        List<CachedBatch> views;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            views = batches;
            batches = List.of();
        }
        if (views != null) {
            for (CachedBatch b : views) {
                b.data().release();
            }
        }
        block.releaseBuffers();
    }

    @Override
    public String toString() {
        return "SealedBlock[id=" + block.id + " batches=" + block.batchCount() + " memoryBytes=" + block.memoryBytes() + "]";
    }
}
