package dev.strata.core.settings;

import java.time.Duration;

/**
 * Compaction and garbage collection as the user chose them; the planner's derived limits are in
 * {@link CompactionSizes}. Validated on construction. Immutable.
 *
 * <p>The canonical constructor throws {@link InvalidSettingException} if a value is out of range.
 *
 * @param interval time between cycles, zero or more (zero schedules none)
 * @param targetObjectBytes size compaction aims at for the objects it writes, at least 1
 * @param streamSetSplitAge age after which a stream's data leaves stream-set objects, zero or more
 * @param garbageGracePeriod how long a replaced object stays readable before it is deleted, zero or more
 * @param orphanTtl how long an unreferenced object found by listing waits before it is deleted, zero or more
 * @param bytesPerSecond limit on compaction reads, zero or more (zero: no limit)
 */
public record CompactionSettings(Duration interval, long targetObjectBytes, Duration streamSetSplitAge,
        Duration garbageGracePeriod, Duration orphanTtl, long bytesPerSecond) {
    /** Default time between compaction cycles. */
    public static final Duration DEFAULT_INTERVAL = Duration.ofMinutes(5);
    /** Default size compaction aims at for the objects it writes. */
    public static final long DEFAULT_TARGET_OBJECT_BYTES = 256L << 20;
    /** Default age after which a stream's data leaves stream-set objects whatever its size. */
    public static final Duration DEFAULT_STREAM_SET_SPLIT_AGE = Duration.ofHours(1);
    /** Default time a replaced object stays readable before it is deleted. */
    public static final Duration DEFAULT_GARBAGE_GRACE_PERIOD = Duration.ofMinutes(2);
    /** Default time an unreferenced object found by listing waits before it is deleted. */
    public static final Duration DEFAULT_ORPHAN_TTL = Duration.ofMinutes(30);
    /** Default limit on compaction reads. */
    public static final long DEFAULT_BYTES_PER_SECOND = 64L << 20;

    public CompactionSettings {
        SettingChecks.nonNegative("compactionInterval", interval);
        SettingChecks.atLeast("compactionTargetObjectBytes", targetObjectBytes, 1, "1");
        SettingChecks.nonNegative("streamSetSplitAge", streamSetSplitAge);
        SettingChecks.nonNegative("garbageGracePeriod", garbageGracePeriod);
        SettingChecks.nonNegative("orphanTtl", orphanTtl);
        SettingChecks.atLeast("compactionBytesPerSecond", bytesPerSecond, 0, "0");
    }

    /** Every value at its default. */
    public static CompactionSettings defaults() {
        return new CompactionSettings(DEFAULT_INTERVAL, DEFAULT_TARGET_OBJECT_BYTES, DEFAULT_STREAM_SET_SPLIT_AGE,
                DEFAULT_GARBAGE_GRACE_PERIOD, DEFAULT_ORPHAN_TTL, DEFAULT_BYTES_PER_SECOND);
    }
}
