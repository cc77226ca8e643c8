/**
 * Owns: talking to object stores. {@link dev.strata.objectstore.ObjectStorage} is the one interface
 * this module exports for storage; {@link dev.strata.objectstore.LocalObjectStorage} (a directory,
 * the embedded default) and {@link dev.strata.objectstore.s3.S3ObjectStorage} implement it, and
 * {@link dev.strata.objectstore.ObjectStorages#fromUri} builds one from a URI
 * ({@link dev.strata.objectstore.ReadOnlyObjectStorage#open} one that refuses every change, for
 * inspection tools). Also owns the typed
 * failures ({@link dev.strata.objectstore.ObjectStorageException} and subclasses), the retry policy
 * ({@link dev.strata.objectstore.RetryPolicy}), per-operation request counters
 * ({@link dev.strata.objectstore.ObjectStorageMetrics}) and the object key scheme
 * ({@link dev.strata.objectstore.ObjectKeys}).
 *
 * <p>Does not own: which data goes into which object or when (core.upload), what the manifest says
 * (core.manifest), the object file format (subpackage {@code format}).
 *
 * <p>Threads: futures of {@code LocalObjectStorage} complete on its I/O executor
 * ({@code strata-objectstore-local-N}); futures of {@code S3ObjectStorage} complete on the AWS SDK's
 * completion threads or on the retry scheduler ({@code strata-objectstore-retry}). Callers that
 * do real work in callbacks must hop to their own executor.
 *
 * <p>Buffers: every write ({@code put}, {@code ObjectUpload.write}) takes ownership of the
 * {@link io.netty.buffer.ByteBuf} it is given and releases it on every outcome; every read returns
 * a buffer the caller owns and must release.
 *
 * <p>Local uploads go through {@code O_DIRECT} where the file system takes it (probed once when the
 * storage opens; {@code LocalObjectStorage.directWrites()} says which): the page cache would be a
 * second copy of blocks the engine caches itself, and filling it costs more than one copy into a
 * reused aligned staging buffer.
 */
package dev.strata.objectstore;
