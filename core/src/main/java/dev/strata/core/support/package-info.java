/**
 * Internal: not API, may change (public only so that the parts of the engine can share it).
 *
 * <p>Owns: what every part of the engine shares: the store-wide signals
 * ({@link dev.strata.core.support.StoreState}: closed, fenced, room freed), bounded waits
 * ({@link dev.strata.core.support.WaitSignal}) and the unwrapping of future failures to the typed
 * cause the API promises ({@link dev.strata.core.support.Futures}).
 *
 * <p>Threads: thread-safe; used from every engine thread.
 */
package dev.strata.core.support;
