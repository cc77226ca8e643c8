package dev.strata.wal.api;

/**
 * Where a durable record lives: {@code position} is its first byte, {@code nextPosition} where
 * the next record starts (the value to pass to {@link WriteAheadLog#trim} once this record and
 * everything before it is safe elsewhere). Immutable.
 */
public record WalAppendResult(long position, long nextPosition) {
}
