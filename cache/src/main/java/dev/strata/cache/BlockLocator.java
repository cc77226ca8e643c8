package dev.strata.cache;

import java.util.List;

/**
 * Tells read-ahead which blocks a stream reads next; supplied by the engine from its object index
 * (the next blocks may lie in another object).
 *
 * <p>Must be thread-safe, cheap and non-blocking: it is called on the reading thread. A locator that
 * does not know yet where the data continues (it is fetching the next object's index) returns what
 * it knows and, once it knows more, calls {@link BlockCache#resumeReadAhead} for the stream.
 */
@FunctionalInterface
public interface BlockLocator {

    /**
     * The blocks holding the stream's data after {@code block}, in read order, up to about
     * {@code maxBytes} (at least one if there is any). Empty when {@code block} is the stream's last
     * block in object storage, or when the locator does not know.
     */
    List<BlockRef> blocksAfter(long streamId, BlockRef block, long maxBytes);

    /**
     * Whether {@code next} is the block holding the stream's data right after {@code previous}
     * (possibly in another object): read-ahead then treats the read of {@code next} as sequential.
     * The default asks {@link #blocksAfter} for one block.
     */
    default boolean follows(long streamId, BlockRef previous, BlockRef next) {
        List<BlockRef> after = blocksAfter(streamId, previous, 1);
        return !after.isEmpty() && after.get(0).objectId() == next.objectId()
                && after.get(0).blockIndex() == next.blockIndex();
    }
}
