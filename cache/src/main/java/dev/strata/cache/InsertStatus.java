package dev.strata.cache;

/**
 * Outcome of {@link LogCache#insert}. The batch is always kept (it is acknowledged and still has to
 * be uploaded); the status tells the engine whether to keep admitting appends.
 */
public enum InsertStatus {
    /** The batch was cached and the cache is within its byte limit. */
    OK,
    /**
     * The batch was cached, but the cache is now above its byte limit and nothing in it can be
     * evicted until an upload completes ({@link LogCache#markUploaded}). The engine must apply
     * backpressure to appends (see {@link LogCache#requireRoomFor}).
     */
    OVER_CAPACITY
}
