/**
 * Owns: the engine that wires the modules into a durable {@link dev.strata.api.StreamStore}
 * ({@link dev.strata.core.Strata} builds a {@link dev.strata.core.DurableStreamStore}): the append
 * path (offsets, WAL hand-off, LogCache insert, ordered completion), uploads and commits
 * ({@code Uploader}), catch-up reads from objects ({@code ObjectReadPath}), WAL replay at open
 * ({@code WalReplay}), compaction and garbage collection of objects ({@code CompactionPlanner} decides,
 * {@code Compactor} runs), backpressure and metrics; and {@link dev.strata.core.MemoryStreamStore}, the
 * in-memory implementation for users' unit tests. Metadata lives in {@code dev.strata.core.metadata}.
 * Does not own: on-disk and in-object formats (wal-blockdevice, objectstore) or cache policy (cache).
 *
 * <p>Threads: appends run on the caller's thread up to the WAL hand-off; "strata-wal-callback-N"
 * (the WAL's) inserts acknowledged batches into the LogCache; "strata-callback-N" (or the injected
 * callback executor) completes user futures, one serial lane per stream; "strata-upload" seals,
 * commits and trims, with "strata-upload-writer-N" writing objects; "strata-read-N" (or the
 * injected read executor) serves catch-up reads, "strata-blockcache-N" the block cache's loads;
 * "strata-compaction" (low priority) compacts and deletes garbage; "strata-metadata" writes the
 * manifest. No user callback runs on a WAL, upload, compaction or I/O thread.
 *
 * <p>Buffers: an append's payload is copied once into a pooled buffer (the encoded batch) that the
 * WAL, the LogCache and the uploader share by reference count; a {@link dev.strata.api.FetchResult}
 * holds retained buffers until it is closed. Compaction holds at most one read chunk of input blocks
 * (the in-flight read limit, at most 8 MiB) plus the batches of the previous chunk in the object being
 * written. The LogCache limit covers appends in flight too (admission reserves their room), so the
 * store's direct memory is bounded by its settings: {@link dev.strata.core.MemoryLimits}.
 */
package dev.strata.core;
