/**
 * Internal: not API, may change (public only so that the engine in {@code dev.strata.core} can wire it).
 *
 * <p>Owns: what the engine reports about itself ({@link dev.strata.core.metrics.StoreMetrics}) and
 * its Micrometer binding ({@link dev.strata.core.metrics.MicrometerStoreMetrics}, meters named
 * {@code strata.*}).
 *
 * <p>Threads: called from any thread; implementations are thread-safe and never throw.
 */
package dev.strata.core.metrics;
