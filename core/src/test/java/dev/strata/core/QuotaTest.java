package dev.strata.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.BackpressureException;
import dev.strata.api.FetchResult;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Quotas on a durable store: an append over its stream's or tenant's quota is refused past the
 * backpressure bound, naming the quota, and takes no offset; catch-up reads from objects are counted
 * and delayed, tail reads from the log cache are not.
 */
class QuotaTest {
    @TempDir
    Path dir;

    private static RecordBatch batch(int bytes) {
        return RecordBatch.of(1, ByteBuffer.wrap(new byte[bytes]));
    }

    private static Throwable failure(java.util.concurrent.CompletableFuture<?> f) {
        try {
            f.join();
        } catch (CompletionException e) {
            return e.getCause();
        }
        throw new AssertionError("expected a failure");
    }

    @Test
    void anAppendOverItsStreamQuotaIsRefusedNamingItAndTakesNoOffset() {
        try (DurableStreamStore store = StoreFixtures.small(dir).appendBackpressureWait(Duration.ofMillis(50)).build()) {
            Stream limited = store.createStream(StreamOptions.defaults()).join();
            Stream free = store.createStream(StreamOptions.defaults()).join();
            store.quotas().setStreamQuota(limited.id(), Quota.unlimited().withAppendBytesPerSecond(1_000));

            assertThat(limited.append(batch(10_000)).join().baseOffset()).as("a full bucket admits it").isZero();
            Throwable refused = failure(limited.append(batch(10))); // 9 s of debt: far past the 50 ms bound
            assertThat(refused).isInstanceOf(BackpressureException.class)
                    .hasMessageContaining("append quota of stream " + limited.id() + " (1000 bytes/s)");
            assertThat(limited.nextOffset()).as("the refused append took no offset").isEqualTo(1);
            assertThat(free.append(batch(10_000)).join().baseOffset()).as("another stream is not limited").isZero();
            assertThat(store.quotas().streamStats(limited.id()).appendsRefused()).isEqualTo(1);

            store.quotas().setStreamQuota(limited.id(), Quota.unlimited());
            assertThat(limited.append(batch(10)).join().baseOffset()).as("offsets stay contiguous").isEqualTo(1);
        }
    }

    @Test
    void aTenantQuotaLimitsAllItsStreamsTogether() {
        try (DurableStreamStore store = StoreFixtures.small(dir).appendBackpressureWait(Duration.ofMillis(50)).build()) {
            Stream a = store.createStream(StreamOptions.defaults().withTenant("acme")).join();
            Stream b = store.createStream(StreamOptions.defaults().withTenant("acme")).join();
            Stream other = store.createStream(StreamOptions.defaults().withTenant("globex")).join();
            store.quotas().setTenantQuota("acme", Quota.unlimited().withAppendBytesPerSecond(1_000));

            a.append(batch(10_000)).join();
            assertThat(failure(b.append(batch(10)))).isInstanceOf(BackpressureException.class)
                    .hasMessageContaining("append quota of tenant acme (1000 bytes/s)");
            assertThat(other.append(batch(10_000)).join().baseOffset()).isZero();
            assertThat(store.quotas().tenantStats("acme").appendsRefused()).isEqualTo(1);
            assertThat(store.quotas().tenantStats("globex")).isEqualTo(QuotaStats.NONE);
        }
    }

    @Test
    void catchUpReadsFromObjectsAreCountedAndDelayedTailReadsAreNot() {
        long id;
        try (DurableStreamStore store = StoreFixtures.small(dir).build()) {
            Stream s = store.createStream(StreamOptions.defaults().withTenant("acme")).join();
            id = s.id();
            for (int i = 0; i < 6; i++) {
                s.append(batch(4_000)).join();
            }
            store.quotas().setStreamQuota(id, Quota.unlimited().withCatchUpReadBytesPerSecond(10_000));
            try (FetchResult tail = s.fetch(0, Long.MAX_VALUE, 1 << 20).join()) {
                assertThat(tail.batches()).hasSize(6);
            }
            assertThat(store.quotas().streamStats(id).catchUpReadBytes()).as("a tail read is not counted").isZero();
        } // closing uploads everything
        try (DurableStreamStore store = StoreFixtures.small(dir).build()) {
            store.quotas().setStreamQuota(id, Quota.unlimited().withCatchUpReadBytesPerSecond(10_000));
            Stream s = store.openStream(id, 0).join();
            try (FetchResult fromObjects = s.fetch(0, Long.MAX_VALUE, 1 << 20).join()) { // 24,000 bytes: 1.4 s of debt
                assertThat(fromObjects.batches()).hasSize(6);
            }
            QuotaStats stats = store.quotas().streamStats(id);
            assertThat(stats.catchUpReadBytes()).isEqualTo(24_000);
            assertThat(stats.catchUpReadThrottleNanos()).as("delayed by its debt").isEqualTo(1_400_000_000L);
            assertThat(store.quotas().tenantStats("acme").catchUpReadBytes()).isEqualTo(24_000);
        }
    }
}
