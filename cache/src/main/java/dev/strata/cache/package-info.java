/**
 * Bounded memory for reads.
 *
 * <h2>What this package owns</h2>
 * <ul>
 *   <li>{@link dev.strata.cache.LogCache}: the recently appended batches of every stream, in append
 *       order, organised in blocks that the uploader seals and takes as a unit. Tailing readers are
 *       served from it with no I/O and no copy. It is the only place where acknowledged but not yet
 *       uploaded data lives in memory, so it never drops such data; when it is full of it, it says so
 *       (so the engine applies backpressure to appends) instead of growing silently. It also owns
 *       the memory appends are encoded into ({@link dev.strata.cache.LogCache#allocate}: 1 MiB
 *       slabs, reused, topped up ahead of need by one "strata-slab-refill" thread), and keeps a cached
 *       batch as array slots and a slab position, with no heap object per batch, so that seconds
 *       of small batches in memory cost the garbage collector a few arrays.</li>
 *   <li>{@link dev.strata.cache.BlockCache}: decoded object data blocks, keyed by (object, block),
 *       in a Caffeine cache weighed by bytes, with single-flight loads, per-stream read-ahead and a
 *       global budget of in-flight read bytes. It loads through a {@link dev.strata.cache.BlockLoader}
 *       the engine supplies, so this module does not depend on the object store.</li>
 * </ul>
 *
 * <h2>Who releases buffers</h2>
 * Every {@link io.netty.buffer.ByteBuf} has exactly one owner per reference:
 * <ul>
 *   <li>{@link dev.strata.cache.LogCache#insert} takes ownership of the batch buffer (one reference).
 *       The cache releases it when the block holding it is evicted, or on {@code close()} (a buffer
 *       from {@link dev.strata.cache.LogCache#allocate} right away: the cache keeps a hold of its
 *       slab instead).</li>
 *   <li>Everything the caches hand out ({@link dev.strata.cache.LogCacheFetch},
 *       {@link dev.strata.cache.SealedBlock}, the buffers completed by
 *       {@link dev.strata.cache.BlockCache#read}) carries its own retained reference that the
 *       <em>caller</em> must release (closing the result or releasing the buffer). Eviction only
 *       drops the cache's own reference, so it never frees memory a reader still holds.</li>
 *   <li>{@link dev.strata.cache.BlockLoader} passes ownership of the buffers it completes with to the
 *       block cache.</li>
 * </ul>
 *
 * <p>Threads: executors and the ticker are injected through the builders, so tests run with a
 * same-thread executor and a fake ticker. The one thread started here is a LogCache's
 * "strata-slab-refill" (only with a slab allocator), which takes slabs from the pool ahead of appends
 * and stops when the cache closes.
 */
package dev.strata.cache;
