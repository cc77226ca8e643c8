/**
 * The write-ahead log SPI: what the engine appends to, trims and replays, in a module both WAL
 * implementations depend on (neither on the other).
 *
 * <p>Owns: the contract of a WAL ({@link dev.strata.wal.api.WriteAheadLog}: ordering, acknowledgement
 * only when durable, trim, recovery, fencing or exclusive ownership, backpressure, buffer ownership),
 * the values it exchanges with the engine ({@link dev.strata.wal.api.WalAppendResult},
 * {@link dev.strata.wal.api.WalRecord}, {@link dev.strata.wal.api.WalRecovery},
 * {@link dev.strata.wal.api.RecoveryReport}), and how an engine opens one
 * ({@link dev.strata.wal.api.WalFactory} from the {@link dev.strata.wal.api.WalSizes} the store
 * computed). Its test-jar holds the contract kit, {@code WriteAheadLogContractTest}, that every
 * implementation passes.
 *
 * <p>Does not own: any on-device or object format, I/O, threads or locks (the implementations':
 * {@code dev.strata.wal.BlockDeviceWal} in wal-blockdevice, the object-store WAL in its own module),
 * what a record means (the engine encodes its batches into opaque bodies), or when to trim (the
 * engine trims after upload).
 *
 * <p>Depends on {@code api} (the typed exceptions) and netty-buffer (record bodies are
 * {@code ByteBuf}s, owned as each method states) only.
 */
package dev.strata.wal.api;
