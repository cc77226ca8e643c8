package dev.strata.cache;

/** Cache key of a data block: (object, block index). Immutable. */
record BlockKey(long objectId, int blockIndex) {
}
