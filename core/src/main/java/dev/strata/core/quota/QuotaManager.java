package dev.strata.core.quota;

import dev.strata.api.BackpressureException;
import dev.strata.api.StreamLabels;
import dev.strata.core.AuditActor;
import dev.strata.core.AuditEvent;
import dev.strata.core.Quota;
import dev.strata.core.audit.AuditLog;
import dev.strata.core.QuotaStats;
import dev.strata.core.Quotas;
import dev.strata.core.ReadAllowance;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;

/**
 * The store's {@link Quotas}: token buckets per stream and per tenant, the admission of appends
 * ({@link #admitAppend}) and the delay of catch-up reads ({@link #chargeCatchUpRead}), and the
 * counters behind {@link #streamStats}/{@link #tenantStats}. See {@link Quotas} for the rules.
 *
 * <p>Thread-safe: the maps are concurrent and each bucket has its own monitor; changes of quotas are
 * serialized on this object, so {@link #active} always matches the maps once a change returns. While
 * no quota is set ({@link #active} false) the append and read paths return at once.
 */
public final class QuotaManager implements Quotas {

    /** One stream's or tenant's quota and its buckets (null where unlimited). Replaced, never changed. */
    private record Limits(Quota quota, TokenBucket append, TokenBucket read) {
        static Limits of(Quota quota, long nowNanos) {
            return new Limits(quota,
                    quota.appendBytesPerSecond() == Quota.UNLIMITED ? null : new TokenBucket(quota.appendBytesPerSecond(), nowNanos),
                    quota.catchUpReadBytesPerSecond() == Quota.UNLIMITED ? null
                            : new TokenBucket(quota.catchUpReadBytesPerSecond(), nowNanos));
        }
    }

    /** Throttling of one stream or tenant. */
    private static final class Counters {
        final LongAdder appendThrottleNanos = new LongAdder();
        final LongAdder appendsRefused = new LongAdder();
        final LongAdder readThrottleNanos = new LongAdder();
        final LongAdder readBytes = new LongAdder();

        QuotaStats snapshot() {
            return new QuotaStats(appendThrottleNanos.sum(), appendsRefused.sum(), readThrottleNanos.sum(), readBytes.sum());
        }
    }

    private final LongSupplier nanoClock;
    /** Where quota changes are reported. */
    private final AuditLog audit;
    private final LongFunction<Optional<String>> tenantOf;
    private final ConcurrentHashMap<Long, Limits> streams = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Limits> tenants = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, Counters> streamCounters = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counters> tenantCounters = new ConcurrentHashMap<>();
    /** Streams whose throttling the caller does ({@link #setCallerThrottled}). */
    private final java.util.Set<Long> callerThrottled = ConcurrentHashMap.newKeySet();
    private final TailReads tailReads;
    private volatile boolean active;

    /** Whether a fetch of a stream from an offset would be served by the log cache (a tail read). */
    @FunctionalInterface
    public interface TailReads {
        boolean isTailRead(long streamId, long offset);
    }

    /**
     * A manager that takes every read for a catch-up read in {@link #catchUpReadAllowance}.
     *
     * @param nanoClock the time buckets refill by ({@code System::nanoTime} in a store)
     * @param tenantOf a stream's tenant (from its metadata), empty for none or an unknown stream
     */
    public QuotaManager(LongSupplier nanoClock, LongFunction<Optional<String>> tenantOf, AuditLog audit) {
        this(nanoClock, tenantOf, audit, (streamId, offset) -> false);
    }

    /**
     * @param nanoClock the time buckets refill by ({@code System::nanoTime} in a store)
     * @param tenantOf a stream's tenant (from its metadata), empty for none or an unknown stream
     * @param tailReads which fetches the log cache serves (the store's log cache)
     */
    public QuotaManager(LongSupplier nanoClock, LongFunction<Optional<String>> tenantOf, AuditLog audit,
            TailReads tailReads) {
        this.audit = audit;
        this.nanoClock = nanoClock;
        this.tenantOf = tenantOf;
        this.tailReads = tailReads;
    }

    @Override
    public void setCallerThrottled(long streamId, boolean throttledByCaller) {
        if (throttledByCaller) {
            callerThrottled.add(streamId);
        } else {
            callerThrottled.remove(streamId);
        }
    }

    @Override
    public boolean isCallerThrottled(long streamId) {
        return callerThrottled.contains(streamId);
    }

    @Override
    public long appendWaitNanos(long streamId) {
        if (!active) {
            return 0;
        }
        TokenBucket s = bucket(streams.get(streamId), false);
        TokenBucket t = tenants.isEmpty() ? null : bucket(tenantLimits(streamId), false);
        if (s == null && t == null) {
            return 0;
        }
        long now = nanoClock.getAsLong();
        return Math.max(s == null ? 0 : s.waitNanos(now), t == null ? 0 : t.waitNanos(now));
    }

    @Override
    public ReadAllowance catchUpReadAllowance(long streamId, long offset) {
        if (!active) {
            return ReadAllowance.UNLIMITED;
        }
        TokenBucket s = bucket(streams.get(streamId), true);
        TokenBucket t = tenants.isEmpty() ? null : bucket(tenantLimits(streamId), true);
        if ((s == null && t == null) || tailReads.isTailRead(streamId, offset)) {
            return ReadAllowance.UNLIMITED;
        }
        long now = nanoClock.getAsLong();
        long wait = Math.max(s == null ? 0 : s.waitNanos(now), t == null ? 0 : t.waitNanos(now));
        long bytes = Math.min(s == null ? Long.MAX_VALUE : s.availableBytes(now),
                t == null ? Long.MAX_VALUE : t.availableBytes(now));
        return new ReadAllowance(wait, bytes);
    }

    private Limits tenantLimits(long streamId) {
        String tenant = tenantOf.apply(streamId).orElse(null);
        return tenant == null ? null : tenants.get(tenant);
    }

    private static TokenBucket bucket(Limits limits, boolean read) {
        return limits == null ? null : read ? limits.read() : limits.append();
    }

    @Override
    public synchronized void setStreamQuota(long streamId, Quota quota) {
        if (quota == null) {
            throw new IllegalArgumentException("quota must not be null (Quota.unlimited() removes it)");
        }
        if (quota.isUnlimited()) {
            streams.remove(streamId);
        } else {
            streams.put(streamId, Limits.of(quota, nanoClock.getAsLong()));
        }
        active = !streams.isEmpty() || !tenants.isEmpty();
        emitChange("stream", streamId, tenantOf.apply(streamId), quota);
    }

    @Override
    public synchronized void setTenantQuota(String tenant, Quota quota) {
        StreamLabels.checkTenant(tenant);
        if (quota == null) {
            throw new IllegalArgumentException("quota must not be null (Quota.unlimited() removes it)");
        }
        if (quota.isUnlimited()) {
            tenants.remove(tenant);
        } else {
            tenants.put(tenant, Limits.of(quota, nanoClock.getAsLong()));
        }
        active = !streams.isEmpty() || !tenants.isEmpty();
        emitChange("tenant", -1, Optional.of(tenant), quota);
    }

    private void emitChange(String scope, long streamId, Optional<String> tenant, Quota quota) {
        audit.emit(AuditEvent.Type.QUOTA_CHANGED, streamId, tenant, AuditActor.current(), java.util.Map.of("scope", scope,
                "appendBytesPerSecond", rate(quota.appendBytesPerSecond()),
                "catchUpReadBytesPerSecond", rate(quota.catchUpReadBytesPerSecond())));
    }

    private static String rate(long bytesPerSecond) {
        return bytesPerSecond == Quota.UNLIMITED ? "unlimited" : Long.toString(bytesPerSecond);
    }

    @Override
    public Quota streamQuota(long streamId) {
        Limits l = streams.get(streamId);
        return l == null ? Quota.unlimited() : l.quota();
    }

    @Override
    public Quota tenantQuota(String tenant) {
        Limits l = tenants.get(StreamLabels.checkTenant(tenant));
        return l == null ? Quota.unlimited() : l.quota();
    }

    @Override
    public QuotaStats streamStats(long streamId) {
        Counters c = streamCounters.get(streamId);
        return c == null ? QuotaStats.NONE : c.snapshot();
    }

    @Override
    public QuotaStats tenantStats(String tenant) {
        Counters c = tenantCounters.get(StreamLabels.checkTenant(tenant));
        return c == null ? QuotaStats.NONE : c.snapshot();
    }

    /** Whether any quota is set (else {@link #admitAppend} and {@link #chargeCatchUpRead} return 0 at once). */
    public boolean active() {
        return active;
    }

    /**
     * Admits an append of {@code bytes} to {@code streamId}: returns how long the caller must wait
     * before handing it to the WAL (0: now), and charges its bytes to the stream's and the tenant's
     * append quotas. For a stream the caller throttles ({@link #setCallerThrottled}): charges and
     * returns 0, never refuses.
     *
     * @throws BackpressureException naming the quota, if that wait exceeds {@code maxWaitNanos}
     *     (nothing is charged)
     */
    public long admitAppend(long streamId, long bytes, long maxWaitNanos) {
        if (!active) {
            return 0;
        }
        Limits stream = streams.get(streamId);
        String tenant = tenants.isEmpty() ? null : tenantOf.apply(streamId).orElse(null);
        Limits tenantLimits = tenant == null ? null : tenants.get(tenant);
        TokenBucket s = stream == null ? null : stream.append();
        TokenBucket t = tenantLimits == null ? null : tenantLimits.append();
        if (s == null && t == null) {
            return 0;
        }
        long now = nanoClock.getAsLong();
        if (callerThrottled.contains(streamId)) { // charged, never waits nor refused: the caller throttles its client
            long owed = Math.max(s == null ? 0 : s.charge(bytes, now), t == null ? 0 : t.charge(bytes, now));
            if (owed > 0) {
                counters(streamId, tenant, c -> c.appendThrottleNanos.add(owed));
            }
            return 0;
        }
        long streamWait = s == null ? 0 : s.waitNanos(now);
        long tenantWait = t == null ? 0 : t.waitNanos(now);
        long wait = Math.max(streamWait, tenantWait);
        if (wait > maxWaitNanos) {
            counters(streamId, tenant, c -> c.appendsRefused.increment());
            String which = streamWait >= tenantWait
                    ? "the append quota of stream " + streamId + " (" + s.bytesPerSecond() + " bytes/s)"
                    : "the append quota of tenant " + tenant + " (" + t.bytesPerSecond() + " bytes/s)";
            throw new BackpressureException("refused by " + which + ": it admits this append after "
                    + TimeUnit.NANOSECONDS.toMillis(wait) + " ms, more than the " + TimeUnit.NANOSECONDS.toMillis(maxWaitNanos)
                    + " ms left of appendBackpressureWait; nothing was written, retry later");
        }
        if (s != null) {
            s.charge(bytes, now);
        }
        if (t != null) {
            t.charge(bytes, now);
        }
        if (wait > 0) {
            counters(streamId, tenant, c -> c.appendThrottleNanos.add(wait));
        }
        return wait;
    }

    /**
     * Charges a catch-up read that returned {@code bytes} of {@code streamId} to the stream's and the
     * tenant's read quotas; returns how long to delay its result (0: not at all). The store's fetch
     * path calls it for streams it throttles, the caller for those it throttles.
     */
    @Override
    public long chargeCatchUpRead(long streamId, long bytes) {
        if (!active) {
            return 0;
        }
        Limits stream = streams.get(streamId);
        String tenant = tenants.isEmpty() ? null : tenantOf.apply(streamId).orElse(null);
        Limits tenantLimits = tenant == null ? null : tenants.get(tenant);
        TokenBucket s = stream == null ? null : stream.read();
        TokenBucket t = tenantLimits == null ? null : tenantLimits.read();
        if (s == null && t == null) {
            return 0;
        }
        long now = nanoClock.getAsLong();
        long wait = Math.max(s == null ? 0 : s.charge(bytes, now), t == null ? 0 : t.charge(bytes, now));
        counters(streamId, tenant, c -> {
            c.readBytes.add(bytes);
            c.readThrottleNanos.add(wait);
        });
        return wait;
    }

    /** Counts for the stream and for its tenant (looked up if the caller did not need it). */
    private void counters(long streamId, String tenant, java.util.function.Consumer<Counters> update) {
        update.accept(streamCounters.computeIfAbsent(streamId, id -> new Counters()));
        String owner = tenant != null ? tenant : tenantOf.apply(streamId).orElse(null);
        if (owner != null) {
            update.accept(tenantCounters.computeIfAbsent(owner, id -> new Counters()));
        }
    }

    /** Forgets a deleted stream's quota and counters. */
    public synchronized void forgetStream(long streamId) {
        streams.remove(streamId);
        streamCounters.remove(streamId);
        callerThrottled.remove(streamId);
        active = !streams.isEmpty() || !tenants.isEmpty();
    }
}
