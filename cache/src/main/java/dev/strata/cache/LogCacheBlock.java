package dev.strata.cache;

import java.util.ArrayList;
import java.util.List;

/**
 * A unit of upload and eviction in the {@link LogCache}: batches of any streams in append order.
 * Moves through {@link State#OPEN} -> {@link State#SEALED} -> {@link State#TAKEN} ->
 * {@link State#UPLOADED} (evictable); an aborted upload goes back from TAKEN to SEALED.
 *
 * <p>Not thread-safe: every field is guarded by the owning cache's lock. The block owns one reference
 * of each batch buffer, released by {@link LogCache} on eviction or close.
 */
final class LogCacheBlock {
    enum State { OPEN, SEALED, TAKEN, UPLOADED }

    final long id;
    // guarded by LogCache.lock
    State state = State.OPEN;
    // guarded by LogCache.lock
    final List<CachedBatch> batches = new ArrayList<>();
    // guarded by LogCache.lock; sum of memoryBytes of batches
    long memoryBytes;

    LogCacheBlock(long id) {
        this.id = id;
    }

    void add(CachedBatch batch) {
        batches.add(batch);
        memoryBytes += batch.memoryBytes();
    }

    @Override
    public String toString() {
        return "LogCacheBlock[id=" + id + " state=" + state + " batches=" + batches.size()
                + " memoryBytes=" + memoryBytes + "]";
    }
}
