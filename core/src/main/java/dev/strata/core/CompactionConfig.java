package dev.strata.core;

import java.time.Duration;

/**
 * Settings of compaction and garbage collection, validated by {@link Strata.Builder}. Immutable.
 *
 * @param interval time between scheduled cycles; {@link Duration#ZERO} runs none (only
 *     {@link DurableStreamStore#compact()})
 * @param planner what a cycle compacts ({@link CompactionPlanner})
 * @param gracePeriod how long a replaced object stays in the store before it is deleted, so reads
 *     that looked it up before the replace can finish
 * @param orphanTtl how long an object found by listing, neither committed nor being written, must
 *     stay unreferenced before it is deleted
 * @param bytesPerSecond limit on compaction reads; 0 means unlimited
 */
record CompactionConfig(Duration interval, CompactionPlanner.Settings planner, Duration gracePeriod, Duration orphanTtl,
        long bytesPerSecond) {
}
