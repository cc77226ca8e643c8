package dev.strata.core.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.BackpressureException;
import dev.strata.core.Quota;
import dev.strata.core.QuotaStats;
import dev.strata.core.ReadAllowance;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Token buckets per stream and tenant, with a hand-moved clock: admissions, refusals, read delays, counters. */
class QuotaManagerTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    private long now = 1_000 * SECOND;
    /** Streams 1 and 2 belong to acme, 3 to globex, 4 to nobody. */
    private final QuotaManager quotas = new QuotaManager(() -> now,
            id -> Optional.ofNullable(Map.of(1L, "acme", 2L, "acme", 3L, "globex").get(id)), dev.strata.core.audit.AuditLog.NONE);

    @Test
    void withoutQuotasEverythingIsAdmittedAtOnceAndNothingIsCounted() {
        assertThat(quotas.active()).isFalse();
        assertThat(quotas.admitAppend(1, 1L << 40, 0)).isZero();
        assertThat(quotas.chargeCatchUpRead(1, 1L << 40)).isZero();
        assertThat(quotas.streamStats(1)).isEqualTo(QuotaStats.NONE);
        assertThat(quotas.streamQuota(1)).isEqualTo(Quota.unlimited());
    }

    @Test
    void anAppendGoesIntoDebtAndTheNextWaitsItOutOrIsRefusedPastTheBound() {
        quotas.setStreamQuota(4, Quota.unlimited().withAppendBytesPerSecond(1_000));
        assertThat(quotas.admitAppend(4, 5_000, 0)).as("a full bucket admits even a large append").isZero();

        assertThatThrownBy(() -> quotas.admitAppend(4, 10, SECOND))
                .isInstanceOf(BackpressureException.class)
                .hasMessageContaining("append quota of stream 4 (1000 bytes/s)")
                .hasMessageContaining("after 4000 ms").hasMessageContaining("nothing was written");
        assertThat(quotas.streamStats(4).appendsRefused()).isEqualTo(1);

        now += SECOND; // debt 3,000 bytes left: 3 s
        assertThat(quotas.admitAppend(4, 500, 5 * SECOND)).isEqualTo(3 * SECOND);
        assertThat(quotas.streamStats(4).appendThrottleNanos()).isEqualTo(3 * SECOND);
        now += 3 * SECOND; // the refused append charged nothing; the admitted 500 bytes are still owed
        assertThat(quotas.admitAppend(4, 1, SECOND)).isEqualTo(SECOND / 2);
    }

    @Test
    void aTenantsQuotaIsSharedByItsStreamsAndLeavesOthersAlone() {
        quotas.setTenantQuota("acme", Quota.unlimited().withAppendBytesPerSecond(2_000));
        assertThat(quotas.admitAppend(1, 4_000, 0)).isZero();
        assertThatThrownBy(() -> quotas.admitAppend(2, 1, SECOND / 2))
                .isInstanceOf(BackpressureException.class).hasMessageContaining("append quota of tenant acme (2000 bytes/s)");
        assertThat(quotas.admitAppend(3, 1L << 30, 0)).as("globex has no quota").isZero();
        assertThat(quotas.admitAppend(4, 1L << 30, 0)).as("no tenant").isZero();
        assertThat(quotas.tenantStats("acme").appendsRefused()).isEqualTo(1);
        assertThat(quotas.streamStats(2).appendsRefused()).isEqualTo(1);
        assertThat(quotas.streamStats(1).appendsRefused()).isZero();
    }

    @Test
    void theStricterOfStreamAndTenantQuotaDecides() {
        quotas.setTenantQuota("acme", Quota.unlimited().withAppendBytesPerSecond(10_000));
        quotas.setStreamQuota(1, Quota.unlimited().withAppendBytesPerSecond(1_000));
        assertThat(quotas.admitAppend(1, 3_000, 0)).isZero(); // stream: -2,000 (2 s); tenant: 7,000 left
        assertThat(quotas.admitAppend(1, 1, 5 * SECOND)).isEqualTo(2 * SECOND);
        assertThat(quotas.admitAppend(2, 6_000, 0)).as("the other acme stream: only the tenant's bucket").isZero();
    }

    @Test
    void catchUpReadsAreDelayedByTheirDebtNeverRefused() {
        quotas.setStreamQuota(3, Quota.unlimited().withCatchUpReadBytesPerSecond(1_000));
        assertThat(quotas.chargeCatchUpRead(3, 800)).isZero();
        assertThat(quotas.chargeCatchUpRead(3, 1_200)).isEqualTo(SECOND);
        assertThat(quotas.chargeCatchUpRead(3, 1_000_000)).isEqualTo(1_001 * SECOND);
        QuotaStats stats = quotas.streamStats(3);
        assertThat(stats.catchUpReadBytes()).isEqualTo(1_002_000);
        assertThat(stats.catchUpReadThrottleNanos()).isEqualTo(1_002 * SECOND);
        assertThat(quotas.admitAppend(3, 1L << 30, 0)).as("the read quota does not limit appends").isZero();
    }

    @Test
    void aChangeAtRunTimeTakesEffectAtTheNextCallAndUnlimitedRemovesIt() {
        quotas.setStreamQuota(4, Quota.unlimited().withAppendBytesPerSecond(100));
        quotas.admitAppend(4, 10_000, 0);
        assertThatThrownBy(() -> quotas.admitAppend(4, 1, SECOND)).isInstanceOf(BackpressureException.class);

        quotas.setStreamQuota(4, Quota.unlimited().withAppendBytesPerSecond(1_000_000));
        assertThat(quotas.streamQuota(4).appendBytesPerSecond()).isEqualTo(1_000_000);
        assertThat(quotas.admitAppend(4, 1, 0)).as("a new quota starts with a full bucket").isZero();

        quotas.setStreamQuota(4, Quota.unlimited());
        assertThat(quotas.active()).isFalse();
        assertThat(quotas.admitAppend(4, 1L << 40, 0)).isZero();
    }

    @Test
    void invalidQuotasAndTenantsAreRefused() {
        assertThatThrownBy(() -> new Quota(0, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> quotas.setTenantQuota("not a tenant", Quota.unlimited()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tenant");
        assertThatThrownBy(() -> quotas.setStreamQuota(1, null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aCallerThrottledStreamIsChargedButNeverDelayedNorRefusedAndTheCallerLearnsTheWait() {
        quotas.setTenantQuota("acme", new Quota(1_000, 1_000));
        quotas.setCallerThrottled(1, true);
        assertThat(quotas.isCallerThrottled(1)).isTrue();
        assertThat(quotas.isCallerThrottled(2)).isFalse();
        assertThat(quotas.catchUpReadAllowance(1, 0)).as("a full bucket").isEqualTo(new ReadAllowance(0, 1_000));

        assertThat(quotas.admitAppend(1, 3_000, 0)).as("charged, not delayed").isZero();
        assertThat(quotas.admitAppend(1, 1_000, 0)).as("in debt, still not delayed nor refused").isZero();
        assertThat(quotas.appendWaitNanos(1)).as("3,000 bytes owed at 1,000 bytes/s").isEqualTo(3 * SECOND);
        assertThat(quotas.appendWaitNanos(2)).as("the tenant's bucket is shared").isEqualTo(3 * SECOND);
        assertThat(quotas.appendWaitNanos(3)).as("globex has no quota").isZero();
        assertThatThrownBy(() -> quotas.admitAppend(2, 1, SECOND)).as("stream 2 is throttled by the store")
                .isInstanceOf(BackpressureException.class);
        assertThat(quotas.tenantStats("acme").appendThrottleNanos()).as("the waits asked of the caller: 2 s + 3 s")
                .isEqualTo(5 * SECOND);

        assertThat(quotas.chargeCatchUpRead(1, 1_500)).as("the wait the caller's client owes").isEqualTo(SECOND / 2);
        assertThat(quotas.catchUpReadAllowance(1, 0)).isEqualTo(new ReadAllowance(SECOND / 2, 0));
        assertThat(quotas.chargeCatchUpRead(2, 500)).as("shared with stream 2").isEqualTo(SECOND);
        assertThat(quotas.tenantStats("acme").catchUpReadThrottleNanos()).isEqualTo(SECOND / 2 + SECOND);
        now += SECOND;
        assertThat(quotas.catchUpReadAllowance(1, 0)).isEqualTo(new ReadAllowance(0, 0));
        now += SECOND / 2;
        assertThat(quotas.catchUpReadAllowance(1, 0)).isEqualTo(new ReadAllowance(0, 500));
        assertThat(quotas.catchUpReadAllowance(4, 0)).as("no quota for stream 4").isEqualTo(ReadAllowance.UNLIMITED);

        quotas.forgetStream(1);
        assertThat(quotas.isCallerThrottled(1)).as("forgotten with the stream").isFalse();
    }

    @Test
    void aTailReadIsAllowedWhateverTheQuotaOwes() {
        QuotaManager withCache = new QuotaManager(() -> now, id -> Optional.of("acme"), dev.strata.core.audit.AuditLog.NONE,
                (streamId, offset) -> offset >= 100); // the log cache holds offsets from 100
        withCache.setTenantQuota("acme", Quota.unlimited().withCatchUpReadBytesPerSecond(1_000));
        withCache.setCallerThrottled(1, true);
        withCache.chargeCatchUpRead(1, 5_000);
        assertThat(withCache.catchUpReadAllowance(1, 99)).isEqualTo(new ReadAllowance(4 * SECOND, 0));
        assertThat(withCache.catchUpReadAllowance(1, 100)).isEqualTo(ReadAllowance.UNLIMITED);
        assertThat(withCache.appendWaitNanos(1)).as("no append quota").isZero();
    }
}
