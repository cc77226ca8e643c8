package dev.strata.core;

import dev.strata.core.compaction.CompactionPlanner;
import dev.strata.core.settings.CompactionSettings;
import dev.strata.core.settings.CompactionSizes;
import java.time.Duration;

/**
 * Settings of compaction and garbage collection, from the validated {@link CompactionSettings} and the
 * {@link CompactionSizes} derived from them. Immutable.
 *
 * @param interval time between scheduled cycles; {@link Duration#ZERO} runs none (only
 *     {@link DurableStreamStore#compact()})
 * @param planner what a cycle compacts ({@link CompactionPlanner})
 * @param gracePeriod how long a replaced object stays in the store before it is deleted, so reads
 *     that looked it up before the replace can finish
 * @param orphanTtl how long an object found by listing, neither committed nor being written, must
 *     stay unreferenced before it is deleted
 * @param bytesPerSecond limit on compaction reads; 0 means unlimited
 * @param readChunkBytes most bytes of adjacent blocks one compaction read fetches (a single block
 *     larger than this is read alone); with the batches of the previous chunk still in the object
 *     being written, a task holds at most about twice this
 */
record CompactionConfig(Duration interval, CompactionPlanner.Settings planner, Duration gracePeriod, Duration orphanTtl,
        long bytesPerSecond, long readChunkBytes) {

    /** The configuration of a store with these settings and sizes. */
    static CompactionConfig of(CompactionSettings settings, CompactionSizes sizes) {
        return new CompactionConfig(settings.interval(), new CompactionPlanner.Settings(sizes.targetObjectBytes(),
                sizes.splitBytes(), sizes.splitAgeMillis(), sizes.maxDeadFraction(), sizes.maxInputBytes(),
                sizes.maxSmallObjects()), settings.garbageGracePeriod(), settings.orphanTtl(), settings.bytesPerSecond(),
                sizes.readChunkBytes());
    }
}
