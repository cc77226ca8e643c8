package dev.strata.core.quota;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.BackpressureException;
import dev.strata.core.Quota;
import dev.strata.core.QuotaStats;
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
}
