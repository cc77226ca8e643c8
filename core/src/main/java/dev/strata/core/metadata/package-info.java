/**
 * Owns: what the store knows about itself besides the bytes: streams (id, epoch, start offset,
 * committed end offset), committed objects and the stream ranges they hold, the WAL trim point and
 * the node epoch; the rules every change obeys ({@link dev.strata.core.metadata.MetadataState});
 * the {@link dev.strata.core.metadata.MetadataStore} SPI and its two implementations: in memory, and
 * the default manifest kept in the object store.
 * Does not own: object bytes (objectstore), when to upload or compact ({@code dev.strata.core.upload},
 * {@code dev.strata.core.compaction}).
 * Threads: the manifest store writes on its own thread "strata-metadata"; reads of the local view
 * never do I/O.
 */
package dev.strata.core.metadata;
