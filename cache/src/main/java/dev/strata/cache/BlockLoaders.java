package dev.strata.cache;

import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/** Helpers of {@link BlockLoader}'s default method. */
final class BlockLoaders {
    private BlockLoaders() {
    }

    /**
     * {@code loader.load(objectId, blocks)}, failing (never throwing) when the loader throws, returns
     * null, or completes with another number of buffers than blocks (those are released).
     */
    static CompletableFuture<List<ByteBuf>> call(BlockLoader loader, long objectId, List<BlockRef> blocks) {
        CompletableFuture<List<ByteBuf>> f;
        try {
            f = loader.load(objectId, blocks);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (f == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("BlockLoader returned null"));
        }
        return f.thenApply(bufs -> {
            if (bufs == null || bufs.size() != blocks.size()) {
                if (bufs != null) {
                    bufs.forEach(b -> {
                        if (b != null) {
                            b.release();
                        }
                    });
                }
                throw new IllegalStateException("BlockLoader returned " + (bufs == null ? "null" : bufs.size())
                        + " buffers for " + blocks.size() + " blocks: objectId=" + objectId);
            }
            return bufs;
        });
    }

    static Throwable unwrap(Throwable error) {
        return error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    }
}
