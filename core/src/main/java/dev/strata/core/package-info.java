/**
 * Owns: the public face of the engine that wires the modules into a durable
 * {@link dev.strata.api.StreamStore}: {@link dev.strata.core.Strata} (settings and opening) builds a
 * {@link dev.strata.core.DurableStreamStore}; its reports ({@link dev.strata.core.StoreRecoveryReport},
 * {@link dev.strata.core.CompactionReport}, {@link dev.strata.core.StorageSummary},
 * {@link dev.strata.core.MemoryLimits}); and {@link dev.strata.core.MemoryStreamStore}, the in-memory
 * implementation for users' unit tests. Package-private here: the settings records, the store
 * behind the API ({@code DefaultStreamStore}) and the engine that wires its parts ({@code StoreEngine}).
 *
 * <p>The parts live in internal subpackages (not API, may change), one per stage of the data's life:
 * <ul>
 *   <li>{@code dev.strata.core.append}: offsets, the WAL hand-off, the LogCache insert and ordered
 *       completion; streams' lives (create, open, trim, delete);</li>
 *   <li>{@code dev.strata.core.upload}: sealing the LogCache, writing objects, committing them and
 *       trimming the WAL;</li>
 *   <li>{@code dev.strata.core.read}: fetches from the LogCache or, below it, from objects through the
 *       block cache;</li>
 *   <li>{@code dev.strata.core.compaction}: planning and running compaction, and garbage collection
 *       of replaced and orphaned objects;</li>
 *   <li>{@code dev.strata.core.recovery}: WAL replay at open;</li>
 *   <li>{@link dev.strata.core.crypto}: client-side encryption per tenant (its {@code KeyProvider}
 *       SPI and {@code InMemoryKeyProvider} are public), data keys and crypto-shredding;</li>
 *   <li>{@link dev.strata.core.metadata}: what the store knows about streams and objects (its
 *       {@code MetadataStore} SPI is public);</li>
 *   <li>{@code dev.strata.core.metrics} and {@code dev.strata.core.support}: what the parts report, and
 *       what they share (the store's closed/fenced/room signals, bounded waits, thread priorities);</li>
 *   <li>{@code dev.strata.core.os} (compiled for JDK 22, loaded only there): the operating-system
 *       calls that set a thread's CPU priority ({@link dev.strata.core.CpuPriority}).</li>
 * </ul>
 * No part gets the store itself: each gets narrow interfaces at construction.
 * Does not own: on-disk and in-object formats (wal-blockdevice, objectstore) or cache policy (cache).
 *
 * <p>Threads: appends run on the caller's thread up to the WAL hand-off; the WAL completes writes
 * inline on the thread that saw them durable ("strata-wal-N", "strata-wal-io-N", or an appender
 * writing itself), which inserts acknowledged batches into the LogCache; "strata-callback-N" (or the injected
 * callback executor) completes user futures, one serial lane per stream; "strata-upload" seals,
 * commits and trims, with "strata-upload-writer-N" writing objects; "strata-read-N" (or the
 * injected read executor) serves catch-up reads, "strata-blockcache-N" the block cache's loads;
 * "strata-compaction" compacts and deletes garbage; "strata-metadata" writes the manifest. The
 * read, block-cache and compaction threads run at {@code Strata.builder().backgroundCpuPriority}
 * (default normal). No user callback runs on a WAL, upload, compaction or I/O thread.
 *
 * <p>Buffers: an append's payload is copied once into a pooled buffer (the encoded batch) that the
 * WAL, the LogCache and the uploader share by reference count; a {@link dev.strata.api.FetchResult}
 * holds retained buffers until it is closed. Compaction holds at most one read chunk of input blocks
 * (the in-flight read limit, at most 8 MiB) plus the batches of the previous chunk in the object being
 * written. The LogCache limit covers appends in flight too (admission reserves their room), so the
 * store's direct memory is bounded by its settings: {@link dev.strata.core.MemoryLimits}.
 */
package dev.strata.core;
