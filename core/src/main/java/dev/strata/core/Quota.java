package dev.strata.core;

/**
 * A byte-rate limit for one stream or one tenant ({@link Quotas}): bytes per second of appends, and
 * of catch-up reads (fetches served from objects; tail reads from the log cache are never counted).
 * {@link #UNLIMITED} means no limit. Immutable.
 *
 * @param appendBytesPerSecond payload bytes appended per second, &gt; 0
 * @param catchUpReadBytesPerSecond payload bytes returned per second by fetches from objects, &gt; 0
 */
public record Quota(long appendBytesPerSecond, long catchUpReadBytesPerSecond) {
    /** No limit. */
    public static final long UNLIMITED = Long.MAX_VALUE;

    private static final Quota NONE = new Quota(UNLIMITED, UNLIMITED);

    public Quota {
        if (appendBytesPerSecond <= 0 || catchUpReadBytesPerSecond <= 0) {
            throw new IllegalArgumentException("quota rates must be > 0 bytes/s (Quota.UNLIMITED for none): append="
                    + appendBytesPerSecond + " catchUpRead=" + catchUpReadBytesPerSecond);
        }
    }

    /** No limit on either. */
    public static Quota unlimited() {
        return NONE;
    }

    /** A copy with this append rate. */
    public Quota withAppendBytesPerSecond(long bytesPerSecond) {
        return new Quota(bytesPerSecond, catchUpReadBytesPerSecond);
    }

    /** A copy with this catch-up read rate. */
    public Quota withCatchUpReadBytesPerSecond(long bytesPerSecond) {
        return new Quota(appendBytesPerSecond, bytesPerSecond);
    }

    /** Whether neither rate is limited. */
    public boolean isUnlimited() {
        return appendBytesPerSecond == UNLIMITED && catchUpReadBytesPerSecond == UNLIMITED;
    }
}
