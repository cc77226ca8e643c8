package dev.strata.cache;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.List;

/**
 * A sealed block of the {@link LogCache} taken by the uploader: the batches of one time slice in
 * append order (interleaved streams). The uploader writes them to an object, then calls
 * {@link LogCache#markUploaded(long)} with {@link #id()} once the object is committed (or
 * {@link LogCache#abortUpload(long)} if the upload failed), and {@link #close()}s this.
 *
 * <p><b>Buffers:</b> the batches share their bytes with the cache (taking a block does no work per
 * batch, so sealing does not hold the cache's lock for long; {@link #batches()} makes the views, off
 * the cache's locks). This object keeps them alive, also after the cache evicted the block or was
 * closed, until {@link #close()}. Readers must not change a batch buffer's content or indices: read
 * with absolute gets, or take a {@code duplicate()} / {@code retainedDuplicate()}.
 *
 * <p>{@code close()} is idempotent; not thread-safe for concurrent close.
 */
public final class SealedBlock implements AutoCloseable {
    private final LogCacheBlock block;
    @GuardedBy("this")
    private List<CachedBatch> batches; // listed on first use, off the cache's locks
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

    /** Encoded bytes of all batches. */
    public long memoryBytes() {
        return block.memoryBytes();
    }

    /** Lets go of the buffers (the cache keeps them until it evicts the block). */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<CachedBatch> views;
        synchronized (this) {
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
