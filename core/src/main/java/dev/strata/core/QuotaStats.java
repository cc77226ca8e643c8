package dev.strata.core;

/**
 * What quotas did to one stream or one tenant since the store opened ({@link Quotas}). Immutable.
 *
 * @param appendThrottleNanos time appends waited for their quota before going to the WAL
 * @param appendsRefused appends refused with {@link dev.strata.api.BackpressureException} because the
 *     wait their quota required exceeded the store's {@code appendBackpressureWait}
 * @param catchUpReadThrottleNanos time catch-up reads (fetches from objects) were delayed
 * @param catchUpReadBytes payload bytes returned by catch-up reads that a quota counted
 */
public record QuotaStats(long appendThrottleNanos, long appendsRefused, long catchUpReadThrottleNanos,
        long catchUpReadBytes) {
    /** Nothing throttled. */
    public static final QuotaStats NONE = new QuotaStats(0, 0, 0, 0);
}
