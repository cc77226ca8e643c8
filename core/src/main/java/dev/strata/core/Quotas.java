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

    /** What quotas did to {@code streamId}'s appends and reads (its own quota and its tenant's). */
    QuotaStats streamStats(long streamId);

    /** What quotas did to the appends and reads of {@code tenant}'s streams. */
    QuotaStats tenantStats(String tenant);
}
