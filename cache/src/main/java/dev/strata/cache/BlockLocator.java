package dev.strata.cache;

import java.util.List;

/**
 * Tells read-ahead which blocks a stream reads next; supplied by the engine from its object index
 * (the next blocks may lie in another object).
 *
 * <p>Must be thread-safe, cheap and non-blocking: it is called on the reading thread.
 */
@FunctionalInterface
public interface BlockLocator {

    /**
     * The blocks holding the stream's data after {@code block}, in read order, up to about
     * {@code maxBytes} (at least one if there is any). Empty when {@code block} is the stream's last
     * block in object storage, or when the locator does not know.
     */
    List<BlockRef> blocksAfter(long streamId, BlockRef block, long maxBytes);
}
