package dev.strata.core.reliability;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.AppendResult;
import dev.strata.api.StorageException;
import dev.strata.api.Stream;
import dev.strata.api.StreamClosedException;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StoreFixtures;
import dev.strata.testkit.AckLedger;
import dev.strata.wal.FaultInjectingWal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Disk faults under the WAL: a {@link FaultInjectingWal} (through {@code Strata.Builder#walOpener})
 * fails the k-th device write with EIO, ENOSPC, a torn write (a prefix of the blocks, then EIO) or a
 * short write, at a seeded k, sometimes "sticky" (a dead device). Several streams append with
 * several appends in flight. Checked: failed appends fail with {@link StorageException} (or
 * {@link StreamClosedException} for a handle already failed), the message says what the device
 * said; the WAL fails stop (every append submitted after a failure was seen fails too); and after
 * a restart on a healthy device every acknowledged batch is readable at its offset with its bytes,
 * every readable batch is genuine (nothing half-written becomes data), and a failed append whose
 * record did reach the device before the failure (a short or torn write) shows up, if at all, only
 * after every acknowledged batch of its stream, contiguously.
 * CI: 16 rounds; long: 300.
 */
class DiskFaultCampaignTest {
    private static final int ROUNDS = Campaigns.rounds(16, 300);
    private static final int STREAMS = 3;
    private static final int IN_FLIGHT = 4;
    private static final FaultInjectingWal.Fault[] FAULTS = FaultInjectingWal.Fault.values();

    @TempDir
    Path tmp;

    @Test
    void deviceErrorsFailStopAndLoseNothingAcknowledged() {
        long verified = 0;
        long failedAppends = 0;
        long injected = 0;
        long failedButReplayed = 0;
        for (int round = 0; round < ROUNDS; round++) {
            long seed = Campaigns.BASE_SEED + round;
            SplittableRandom random = new SplittableRandom(seed);
            FaultInjectingWal.Fault fault = FAULTS[round % FAULTS.length];
            int failAt = 2 + random.nextInt(40);
            FaultInjectingWal.Plan.Builder planBuilder = FaultInjectingWal.plan(seed).failWrite(failAt, fault);
            boolean sticky = random.nextBoolean();
            if (sticky) {
                planBuilder.sticky();
            }
            FaultInjectingWal.Plan plan = planBuilder.build();
            String context = "round " + round + " seed " + seed + " fault " + fault + " at write " + failAt
                    + (sticky ? " sticky" : "");
            Path dir = tmp.resolve("round-" + round);
            AckLedger ledger = new AckLedger();
            Set<Long> failedSeeds = new HashSet<>();
            List<Long> ids = new ArrayList<>();
            try (DurableStreamStore store = StoreFixtures.campaign(dir)
                    .walOpener(options -> FaultInjectingWal.open(options, plan)).build()) {
                List<Stream> streams = new ArrayList<>();
                for (int i = 0; i < STREAMS; i++) {
                    Stream s = await(store.createStream(StreamOptions.defaults()));
                    streams.add(s);
                    ids.add(s.id());
                }
                boolean failureSeen = false;
                for (int step = 0; step < 60; step++) {
                    boolean failureSeenBefore = failureSeen;
                    List<CompletableFuture<AppendResult>> futures = new ArrayList<>();
                    List<long[]> submitted = new ArrayList<>(); // {stream, seed}
                    for (Stream s : streams) {
                        for (int k = 0; k < IN_FLIGHT; k++) {
                            long batchSeed = seed * 1_000_000L + s.id() * 10_000 + step * IN_FLIGHT + k;
                            futures.add(s.append(Campaigns.batch(batchSeed)));
                            submitted.add(new long[] {s.id(), batchSeed});
                        }
                    }
                    for (int i = 0; i < futures.size(); i++) {
                        try {
                            AppendResult r = await(futures.get(i));
                            assertThat(failureSeenBefore).as("%s: append submitted after a failed one was acknowledged "
                                    + "(the WAL must fail stop)", context).isFalse();
                            ledger.ack(submitted.get(i)[0], r.baseOffset(), submitted.get(i)[1]);
                        } catch (StorageException | StreamClosedException e) {
                            failureSeen = true;
                            failedSeeds.add(submitted.get(i)[1]);
                            if (e instanceof StorageException && !(e.getMessage().contains("closed"))) {
                                assertThat(e.isRetriable()).as("%s: a device error is not retriable", context).isFalse();
                                assertThat(e).as(context).satisfiesAnyOf(
                                        t -> assertThat(t).hasMessageContaining("injected"),
                                        t -> assertThat(t).hasStackTraceContaining("injected"),
                                        t -> assertThat(t).hasMessageContaining("short write"),
                                        t -> assertThat(t).hasMessageContaining("WAL failed"));
                            }
                        }
                    }
                }
                failedAppends += failedSeeds.size();
                if (plan.injected() > 0) {
                    assertThat(failureSeen).as("%s: an injected device fault must fail some append", context).isTrue();
                }
                injected += plan.injected();
            }
            // A replacement process on a healthy device recovers every acknowledged batch.
            try (DurableStreamStore store = StoreFixtures.campaign(dir).build()) {
                for (long id : ids) {
                    Stream s = await(store.openStream(id, 1));
                    verified += Campaigns.verifyAcknowledged(s, ledger, context);
                    Campaigns.ReadBack back = Campaigns.readAll(s, ledger, context);
                    java.util.TreeMap<Long, Long> acked = ledger.of(id);
                    long ackedEnd = acked.isEmpty() ? 0 : acked.lastKey() + Campaigns.count(acked.lastEntry().getValue());
                    for (java.util.Map.Entry<Long, Long> got : back.batches.entrySet()) {
                        if (failedSeeds.contains(got.getValue())) {
                            // A failed append's outcome is unknown to the caller (StorageException does not say
                            // "nothing written", unlike BackpressureException): a record that reached the device
                            // before the failure may be replayed, but only after every acknowledged batch.
                            assertThat(got.getKey()).as("%s: failed append's batch (seed %d) replayed below acknowledged "
                                    + "data; recovery %s", context, got.getValue(), store.recoveryReport().summary())
                                    .isGreaterThanOrEqualTo(ackedEnd);
                            failedButReplayed++;
                        }
                    }
                    // and the stream takes new appends at its end
                    long base = await(s.append(Campaigns.batch(seed * 1_000_000L + id * 10_000 + 9_999))).baseOffset();
                    assertThat(base).isEqualTo(back.end);
                }
            }
        }
        assertThat(injected).isPositive();
        Campaigns.report("DiskFaultCampaignTest", "rounds=" + ROUNDS + " faultsInjected=" + injected
                + " appendsFailed=" + failedAppends + " failedButReplayed=" + failedButReplayed + " batchesVerified=" + verified
                + " losses=0");
    }
}
