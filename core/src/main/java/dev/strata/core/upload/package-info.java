/**
 * Internal: not API, may change (public only so that the engine in {@code dev.strata.core} can wire it).
 *
 * <p>Owns: moving acknowledged data from the WAL and LogCache into object storage.
 * {@link dev.strata.core.upload.Uploader} seals what its {@link dev.strata.core.upload.UploadSource}
 * holds, writes stream-set and stream objects, commits them to the metadata store, releases the
 * cache blocks and trims the WAL; {@link dev.strata.core.upload.ObjectKeyAllocator} names new objects
 * and remembers which are being written (the garbage collector never deletes those).
 * Does not own: when an append is acknowledged ({@code dev.strata.core.append}) or what happens to
 * objects once committed ({@code dev.strata.core.compaction}).
 *
 * <p>Threads: "strata-upload" (one: commits happen in upload order) and "strata-upload-writer-N".
 */
package dev.strata.core.upload;
