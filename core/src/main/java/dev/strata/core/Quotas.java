package dev.strata.core;

/**
 * Byte-rate quotas per stream and per tenant (a stream's tenant is the one it was created with,
 * {@code StreamOptions.withTenant}), set and changed at run time; obtained from
 * {@link DurableStreamStore#quotas()}. Not persisted: a store opens with no quotas, and the
 * embedding application sets them again.
 *
 * <p>An append is counted against its stream's quota and its tenant's; a catch-up read (a fetch
 * served from objects) likewise; tail reads from the log cache are never counted nor delayed.
 * <ul>
 *   <li><b>Appends</b> over quota wait before going to the WAL (on the appending thread, as for the
 *       store's other backpressure) until the quota allows them; an append whose wait would exceed
 *       what is left of the store's {@code appendBackpressureWait} fails at once with
 *       {@link dev.strata.api.BackpressureException} naming the quota (stream or tenant, and its
 *       rate), taking no offset. Bytes are charged when an append is admitted, so one append larger
 *       than a second's worth goes through and the appends after it wait for it.</li>
 *   <li><b>Catch-up reads</b> over quota are delayed, never failed: the fetch's result is completed
 *       after the time that brings the stream's (and tenant's) rate back to its quota.</li>
 * </ul>
 * Each limit is a token bucket that holds at most one second of its rate. A change takes effect at
 * the next append or read. {@link #streamStats}/{@link #tenantStats} report the throttling.
 *
 * <h2>Throttling by the caller</h2>
 * A server that answers remote clients, such as a Kafka broker, should not hold a client's request
 * inside the store for the quota's delay: Kafka's brokers answer at once, tell the client how long to
 * wait ({@code throttle_time_ms}, KIP-219) and stop reading its connection meanwhile. For streams it
 * serves that way it calls {@link #setCallerThrottled}. Their appends are still charged to the
 * stream's and the tenant's append quotas (which other streams of the tenant share) but never wait
 * nor are refused by a quota; the caller asks {@link #appendWaitNanos} how long its client must now
 * wait. Their catch-up reads are neither delayed nor charged by the store: the caller asks
 * {@link #catchUpReadAllowance} before a read (nothing while a quota is in debt, at most the bytes it
 * holds), charges what it returns with {@link #chargeCatchUpRead} (a fetch may load more than the
 * caller returns: only what reaches its client counts) and makes its client wait the time that
 * returns. The {@link QuotaStats} of such streams count the waits the quotas asked the caller to
 * impose, after each charge, as {@code appendThrottleNanos} and {@code catchUpReadThrottleNanos}.
 *
 * <p>Thread-safe. With no quota set, appends and reads take no lock and no extra time for quotas.
 */
public interface Quotas {

    /** Sets {@code streamId}'s quota ({@link Quota#unlimited()} removes it). */
    void setStreamQuota(long streamId, Quota quota);

    /**
     * Sets {@code tenant}'s quota, shared by all its streams ({@link Quota#unlimited()} removes it).
     *
     * @throws IllegalArgumentException if {@code tenant} is not a valid tenant name
     */
    void setTenantQuota(String tenant, Quota quota);

    /** {@code streamId}'s quota ({@link Quota#unlimited()} if none). */
    Quota streamQuota(long streamId);

    /** {@code tenant}'s quota ({@link Quota#unlimited()} if none). */
    Quota tenantQuota(String tenant);

    /**
     * Whether the caller throttles {@code streamId}'s appends and catch-up reads instead of the store
     * (see "Throttling by the caller" above): when true, appends are charged to the quotas but never
     * delayed nor refused by a quota, and catch-up reads are left to the caller to charge
     * ({@link #chargeCatchUpRead}). Off for every stream when the store opens (not persisted);
     * forgotten when the stream is deleted. Takes effect at the next append or read.
     */
    void setCallerThrottled(long streamId, boolean callerThrottled);

    /** Whether {@link #setCallerThrottled} handed {@code streamId}'s throttling to the caller. */
    boolean isCallerThrottled(long streamId);

    /**
     * How long until the append quotas of {@code streamId} and of its tenant are out of debt, i.e.
     * until an append would be admitted without waiting (0: now, or no append quota applies). A
     * caller that throttles ({@link #setCallerThrottled}) asks it after an append and makes its
     * client wait this long.
     */
    long appendWaitNanos(long streamId);

    /**
     * What the catch-up read quotas of {@code streamId} and of its tenant allow a fetch from
     * {@code offset} now: {@link ReadAllowance#UNLIMITED} if no read quota applies or the fetch
     * would be a tail read (the log cache holds {@code offset}; tail reads are never counted), else
     * how long until they are out of debt and how many bytes they hold. A caller that throttles
     * ({@link #setCallerThrottled}) asks it before a read (to return nothing while in debt, or at
     * most the bytes held) and after it (the wait its client must now observe).
     */
    ReadAllowance catchUpReadAllowance(long streamId, long offset);

    /**
     * Charges {@code bytes} that a catch-up read of {@code streamId} returned to the stream's and its
     * tenant's read quotas, for a caller that throttles ({@link #setCallerThrottled}); returns how long
     * its client must now wait (0: not at all). The store charges the reads of other streams itself.
     */
    long chargeCatchUpRead(long streamId, long bytes);

    /** What quotas did to {@code streamId}'s appends and reads (its own quota and its tenant's). */
    QuotaStats streamStats(long streamId);

    /** What quotas did to the appends and reads of {@code tenant}'s streams. */
    QuotaStats tenantStats(String tenant);
}
