/**
 * A write-ahead log on object storage ({@link dev.strata.wal.objectstore.ObjectStoreWal}): no local
 * disk, so a machine can be replaced without its disk and another node can take a prefix over.
 *
 * <p>Owns: the WAL object format ({@code WalObjectDescriptor}), batching appends into objects, PUT
 * pipelining with in-order acknowledgement, fencing by conditional PUT, finding the log at open
 * ({@code LogFinder}) and reading it back ({@link dev.strata.wal.objectstore.ObjectWalRecovery}).
 * Does not own: what a record means or when to trim (the engine), talking to S3 (objectstore).
 *
 * <p>Threads: appends copy the record on the caller's thread; PUT outcomes are handled, and
 * futures completed, on the object storage's completion threads; the flush timer and retry
 * backoffs run on the {@link dev.strata.wal.objectstore.FlushScheduler} (by default one daemon
 * thread, {@code strata-objwal-timer}).
 *
 * <p>Buffers: append takes ownership of the body and releases it before returning (the bytes are
 * copied into the object being filled); each object's buffer is released once it is durable or
 * the WAL fails; recovery hands out record bodies the caller must release.
 */
package dev.strata.wal.objectstore;
