package dev.strata.cache;

import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Loads data blocks for the {@link BlockCache}; supplied by the engine (which reads objects), so the
 * cache does not depend on the object store.
 *
 * <p>Implementations must be thread-safe and must not block the calling thread: do the I/O on the
 * engine's read executor and complete the future there. The cache moves its own work off that thread
 * to its executor.
 */
@FunctionalInterface
public interface BlockLoader {

    /**
     * Loads a run of adjacent blocks of one object (one ranged read when the format allows).
     *
     * @param objectId the object
     * @param blocks one or more blocks of {@code objectId} with consecutive {@code blockIndex}, in order
     * @return completes with exactly one decoded buffer per block, in the same order; ownership of
     *     the buffers passes to the cache. Fails with the engine's typed exception
     *     ({@code StorageException}, {@code CorruptDataException}, ...), which the cache hands to
     *     every reader waiting for these blocks.
     */
    CompletableFuture<List<ByteBuf>> load(long objectId, List<BlockRef> blocks);
}
