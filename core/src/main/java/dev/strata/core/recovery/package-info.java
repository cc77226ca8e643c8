/**
 * Internal: not API, may change (public only so that the engine in {@code dev.strata.core} can wire it).
 *
 * <p>Owns: WAL replay at open ({@link dev.strata.core.recovery.WalReplay}): which WAL records are
 * acknowledged data to bring back, into a {@link dev.strata.core.recovery.ReplayTarget}, and what
 * to report ({@link dev.strata.core.StoreRecoveryReport}).
 * Does not own: the WAL's own scan (wal-blockdevice) or the order of the open sequence
 * ({@link dev.strata.core.Strata}).
 *
 * <p>Threads: runs on the thread that opens the store, before it serves.
 */
package dev.strata.core.recovery;
