package dev.strata.cache;

import java.util.List;

/**
 * A sealed block of the {@link LogCache} taken by the uploader: the batches of one time slice in
 * append order (interleaved streams), each with its own retained buffer. The uploader writes them to
 * an object, then calls {@link LogCache#markUploaded(long)} with {@link #id()} once the object is
 * committed (or {@link LogCache#abortUpload(long)} if the upload failed), and {@link #close()}s this
 * to release its references.
 *
 * <p>{@code close()} is idempotent; not thread-safe for concurrent close.
 */
public final class SealedBlock implements AutoCloseable {
    private final long id;
    private final List<CachedBatch> batches;
    private final long memoryBytes;
    private boolean closed;

    SealedBlock(long id, List<CachedBatch> batches, long memoryBytes) {
        this.id = id;
        this.batches = List.copyOf(batches);
        this.memoryBytes = memoryBytes;
    }

    /** The block id to pass to {@link LogCache#markUploaded(long)}; increases with append order. */
    public long id() {
        return id;
    }

    /** The batches in append order. */
    public List<CachedBatch> batches() {
        return batches;
    }

    /** Encoded bytes of all batches. */
    public long memoryBytes() {
        return memoryBytes;
    }

    /** Releases this view's buffers (the cache keeps its own until the block is evicted). */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (CachedBatch b : batches) {
            b.data().release();
        }
    }

    @Override
    public String toString() {
        return "SealedBlock[id=" + id + " batches=" + batches.size() + " memoryBytes=" + memoryBytes + "]";
    }
}
