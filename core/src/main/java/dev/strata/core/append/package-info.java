/**
 * Internal: not API, may change (public only so that the engine in {@code dev.strata.core} can wire it).
 *
 * <p>Owns: the write side of a stream's life. {@link dev.strata.core.append.AppendPath} assigns
 * offsets, hands encoded batches (carved by {@link dev.strata.cache.LogCache#allocate}) to the WAL,
 * waits out backpressure and completes appends in offset order (one
 * {@link dev.strata.core.append.SerialExecutor} lane per stream);
 * {@link dev.strata.core.append.IngestLedger} owns the hand-off from the WAL to the LogCache and
 * what a seal for upload may take; {@link dev.strata.core.append.StreamRegistry} creates, opens
 * (fencing earlier holders), trims and deletes streams and hands out
 * {@link dev.strata.core.append.DefaultStream} handles over each stream's
 * {@link dev.strata.core.append.StreamState}.
 * Does not own: uploads ({@code dev.strata.core.upload}), reads ({@code dev.strata.core.read}),
 * the metadata ({@code dev.strata.core.metadata}).
 *
 * <p>Threads: appends run on the caller's thread up to the WAL hand-off, completions on the WAL's
 * completion thread, user futures on the callback executor.
 */
package dev.strata.core.append;
