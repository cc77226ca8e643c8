/**
 * The {@code strata} command-line tool for operators ({@code java -jar cli/target/strata.jar}):
 * {@code info}, {@code streams}, {@code verify}, {@code dump-wal}, {@code dump-object},
 * {@code dump-stream} and {@code fsck} (see {@code cli/README.md}).
 *
 * <p>Owns: addressing a store the way {@code Strata.builder()} does ({@link dev.strata.cli.StoreOptions}),
 * reading it without changing it ({@link dev.strata.cli.StoreAccess}: the object store through
 * {@link dev.strata.objectstore.ReadOnlyObjectStorage}, the manifest as of its latest version, the
 * WAL through {@link dev.strata.wal.WalInspector}; no ownership lock, no node registration, so the
 * store may be open in another process and is never fenced), judging what it finds
 * ({@link dev.strata.cli.StoreChecks}, {@link dev.strata.cli.WalScan}) and printing it as text or
 * JSON, with exit codes 0 (nothing wrong), 1 (problems found) and 2 (usage or access error).
 *
 * <p>The one write: {@code fsck --repair} deletes orphan objects past the orphan TTL of a
 * {@code file:} store while holding the store's own ownership locks ({@link dev.strata.cli.RepairLock}),
 * so never while the store is open.
 *
 * <p>Does not own: any format (each is read through its module's public reader), any other repair,
 * or the workload runner ({@code jmh}).
 *
 * <p>Threads: each command runs on the caller's thread and waits for the object store's futures;
 * nothing here is shared between commands.
 */
package dev.strata.cli;
