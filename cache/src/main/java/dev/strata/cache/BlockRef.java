package dev.strata.cache;

/**
 * A data block of an object, as the engine's object index describes it.
 *
 * @param objectId the object (its id in the engine's metadata)
 * @param blockIndex position of the block in the object, from 0; adjacent indexes are adjacent in
 *     the object, which is what lets the cache coalesce them into one ranged read
 * @param sizeBytes the block's decoded size, charged against the in-flight read budget before the
 *     load (the cache weighs the loaded buffer by its actual size)
 */
public record BlockRef(long objectId, int blockIndex, int sizeBytes) {
    public BlockRef {
        if (blockIndex < 0) {
            throw new IllegalArgumentException("blockIndex must be >= 0, got " + blockIndex);
        }
        if (sizeBytes < 0) {
            throw new IllegalArgumentException("sizeBytes must be >= 0, got " + sizeBytes);
        }
    }

    /** The cache key: (object, block). */
    BlockKey key() {
        return new BlockKey(objectId, blockIndex);
    }

    /** Whether {@code next} directly follows this block in the same object. */
    boolean isFollowedBy(BlockRef next) {
        return next.objectId == objectId && next.blockIndex == blockIndex + 1;
    }
}
