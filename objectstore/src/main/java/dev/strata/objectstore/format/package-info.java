/**
 * Owns: the bytes of an object and of a stream batch. One descriptor class per binary format
 * ({@link dev.strata.objectstore.format.StreamBatchDescriptor},
 * {@link dev.strata.objectstore.format.DataBlockDescriptor},
 * {@link dev.strata.objectstore.format.ObjectIndexDescriptor},
 * {@link dev.strata.objectstore.format.ObjectFooterDescriptor}) holds the layout and its checks;
 * {@link dev.strata.objectstore.format.StreamBatchCodec} encodes the one batch encoding shared by
 * the WAL, the LogCache and data blocks; {@link dev.strata.objectstore.format.ObjectWriter} streams
 * an object out through an {@link dev.strata.objectstore.ObjectUpload};
 * {@link dev.strata.objectstore.format.ObjectReader} reads footer and index with one tail GET and
 * blocks with coalesced ranged GETs.
 *
 * <p>Object layout: {@code [data block]* [index] [footer]}; every integer is big-endian; every
 * checksum is CRC32C ({@link java.util.zip.CRC32C}).
 *
 * <p>Does not own: which batches go into which object (core.upload), where an object is listed
 * (core.manifest), caching decoded blocks (cache).
 *
 * <p>Threads: writers are used by one thread at a time; readers, indexes and decoded blocks are
 * immutable and thread-safe (a decoded block's buffer is shared read-only, by reference count).
 *
 * <p>Buffers: {@code ObjectWriter.append} takes ownership of each batch buffer. Decoders never take
 * ownership of their input; what they return either is a view valid while the input is retained
 * ({@link dev.strata.objectstore.format.StreamBatch}) or holds its own reference that the caller
 * releases ({@link dev.strata.objectstore.format.DataBlock}).
 *
 * <p>Failures: damaged bytes raise {@link dev.strata.api.CorruptDataException} naming the object
 * key (or other source), the position and, for checksums, the stored and computed values. Wrong
 * data is never returned.
 */
package dev.strata.objectstore.format;
