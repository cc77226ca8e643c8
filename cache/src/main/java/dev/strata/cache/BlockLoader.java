package dev.strata.cache;

import dev.strata.api.CorruptDataException;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Loads data blocks for the {@link BlockCache}; supplied by the engine (which reads objects), so the
 * cache does not depend on the object store.
 *
 * <p>Implementations must be thread-safe and must not block the calling thread: do the I/O on the
 * engine's read executor and complete the future there. The cache moves its own work off that thread
 * to its executor.
 *
 * <p><b>Failures are per block.</b> The cache loads a demand block together with its read-ahead as
 * one run, so one run can hold intact blocks next to a damaged one (each block has its own
 * checksum). The cache calls {@link #loadEach}, which reports one outcome per block, so that a
 * damaged block fails only its own readers and never reports the intact blocks of its run as
 * corrupt. Its default is built on {@link #load}; a loader that checks blocks one by one can
 * override it to report per-block outcomes from the one read.
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
     *     ({@code StorageException}, {@code CorruptDataException}, ...).
     */
    CompletableFuture<List<ByteBuf>> load(long objectId, List<BlockRef> blocks);

    /**
     * Loads a run of adjacent blocks like {@link #load}, with one outcome per block: a block that
     * cannot be served fails only its own future, with the engine's typed exception, which the
     * cache hands to the readers of that block only.
     *
     * <p>The default calls {@link #load} for the run. If that fails with
     * {@link CorruptDataException} and the run has more than one block, it loads each block of the
     * run by itself (one more read per block, only when damage was found), so the intact blocks
     * complete and only the damaged ones fail. Any other failure (the read itself failed) fails
     * every block of the run.
     *
     * @param objectId the object
     * @param blocks one or more blocks of {@code objectId} with consecutive {@code blockIndex}, in order
     * @return exactly one future per block, in the same order; ownership of the buffer each future
     *     completes with passes to the cache
     */
    default List<CompletableFuture<ByteBuf>> loadEach(long objectId, List<BlockRef> blocks) {
        List<CompletableFuture<ByteBuf>> out = new ArrayList<>(blocks.size());
        for (int i = 0; i < blocks.size(); i++) {
            out.add(new CompletableFuture<>());
        }
        BlockLoaders.call(this, objectId, blocks).whenComplete((bufs, error) -> {
            if (error == null) {
                for (int i = 0; i < out.size(); i++) {
                    out.get(i).complete(bufs.get(i));
                }
            } else if (blocks.size() > 1 && BlockLoaders.unwrap(error) instanceof CorruptDataException) {
                for (int i = 0; i < out.size(); i++) {
                    CompletableFuture<ByteBuf> target = out.get(i);
                    BlockLoaders.call(this, objectId, List.of(blocks.get(i))).whenComplete((one, e) -> {
                        if (e == null) {
                            target.complete(one.get(0));
                        } else {
                            target.completeExceptionally(BlockLoaders.unwrap(e));
                        }
                    });
                }
            } else {
                Throwable cause = BlockLoaders.unwrap(error);
                out.forEach(f -> f.completeExceptionally(cause));
            }
        });
        return out;
    }
}
