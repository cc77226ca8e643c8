package dev.strata.core;

/**
 * What the catch-up read quotas of a stream and of its tenant allow one read now
 * ({@link Quotas#catchUpReadAllowance}): for a caller that throttles its own clients
 * ({@link Quotas#setCallerThrottled}), as a Kafka broker does. Immutable.
 *
 * @param waitNanos how long until a quota that is in debt is paid off: the caller's client should
 *     wait this long before reading (0: it may read now)
 * @param bytes payload bytes the quotas hold now (the least of the stream's and the tenant's
 *     buckets; {@link Long#MAX_VALUE} where no read quota applies or for a tail read): a read within
 *     them puts no quota into debt
 */
public record ReadAllowance(long waitNanos, long bytes) {
    /** No quota applies (or a tail read, which quotas never count). */
    public static final ReadAllowance UNLIMITED = new ReadAllowance(0, Long.MAX_VALUE);

    public ReadAllowance {
        if (waitNanos < 0 || bytes < 0) {
            throw new IllegalArgumentException("waitNanos and bytes must be >= 0: waitNanos=" + waitNanos + " bytes=" + bytes);
        }
    }

    /** Whether no quota limits the read. */
    public boolean isUnlimited() {
        return waitNanos == 0 && bytes == Long.MAX_VALUE;
    }
}
