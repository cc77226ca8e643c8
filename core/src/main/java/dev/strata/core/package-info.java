/**
 * Owns: the engine that wires the modules into a {@link dev.strata.api.StreamStore}: append path,
 * upload and commit, read path, metadata with fencing, recovery, compaction, backpressure; and
 * {@link dev.strata.core.MemoryStreamStore}, the in-memory implementation for users' unit tests.
 * Does not own: on-disk and in-object formats (wal-blockdevice, objectstore) or cache policy (cache).
 */
package dev.strata.core;
