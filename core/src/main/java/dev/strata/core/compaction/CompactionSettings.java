package dev.strata.core.compaction;

import dev.strata.core.DurableStreamStore;
import java.time.Duration;

/**
 * Settings of compaction and garbage collection. Immutable; validated by the builder.
 *
 * @param interval time between scheduled cycles; {@link Duration#ZERO} runs none (only
 *     {@code DurableStreamStore.compact()})
 * @param planner what a cycle compacts ({@link CompactionPlanner})
 * @param gracePeriod how long a replaced object stays in the store before it is deleted, so reads
 *     that looked it up before the replace can finish
 * @param orphanTtl how long an object found by listing, neither committed nor being written, must
 *     stay unreferenced before it is deleted
 * @param bytesPerSecond limit on compaction reads; 0 means unlimited
 * @param readChunkBytes most bytes of adjacent blocks one compaction read fetches (a single block
 *     larger than this is read alone)
 * @param objectBlockBytes target size of a data block in the objects compaction writes
 * @param cpuPriority the priority of the compaction thread (which also collects garbage)
 */
public record CompactionSettings(Duration interval, CompactionPlanner.Settings planner, Duration gracePeriod,
        Duration orphanTtl, long bytesPerSecond, long readChunkBytes, int objectBlockBytes,
        dev.strata.core.CpuPriority cpuPriority) {
}
