/**
 * Internal: not API, may change (public only so that the engine in {@code dev.strata.core} can wire it).
 *
 * <p>Owns: committed objects after upload. {@link dev.strata.core.compaction.CompactionPlanner}
 * decides (a pure function of the metadata), {@link dev.strata.core.compaction.Compactor} runs the
 * tasks (throttled by {@link dev.strata.core.compaction.ByteRateLimiter}, yielding to the
 * {@link dev.strata.core.compaction.Foreground}), and
 * {@link dev.strata.core.compaction.GarbageCollector} deletes replaced objects after their grace
 * period, orphans after their TTL, and aborts abandoned uploads.
 * Does not own: writing new data (upload) or the rules of a metadata change (metadata).
 *
 * <p>Threads: one low-priority thread, "strata-compaction".
 */
package dev.strata.core.compaction;
