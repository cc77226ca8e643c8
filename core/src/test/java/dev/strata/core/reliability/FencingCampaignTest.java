package dev.strata.core.reliability;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.BackpressureException;
import dev.strata.api.Stream;
import dev.strata.api.StreamFencedException;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StoreFixtures;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.testkit.AckLedger;
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
 * Two processes on one bucket, and a paused old writer that comes back. Process A (own WAL) writes
 * and commits; then it is paused: its object-store requests are held back
 * ({@link PausableObjectStorage}) while it keeps acknowledging appends into its own WAL and starts a
 * flush. Process B (another WAL, same objects) opens the store, which fences A, takes the streams
 * over at a higher epoch, appends and commits. A resumes: its held uploads and manifest commit are
 * sent. Checked: A's flush, appends and trims fail with {@link StreamFencedException}; B's
 * acknowledged data and A's committed data are all readable at their offsets; nothing A wrote while
 * paused ever becomes visible, neither to B nor when A's process restarts on its old WAL and
 * replays it (its records carry the old epoch). The old owner's garbage collection never deletes an
 * object the new owner references ({@link #oldOwnersGarbageCollectionNeverDeletesTheNewOwnersObjects}).
 * CI: 6 rounds; long: 100.
 */
class FencingCampaignTest {
    private static final int ROUNDS = Campaigns.rounds(6, 100);
    private static final int STREAMS = 3;

    @TempDir
    Path tmp;

    @Test
    void pausedOldWriterNeverCommitsAfterTakeoverAndTheNewOwnerLosesNothing() {
        long verified = 0;
        long zombieAppends = 0;
        long heldRequests = 0;
        for (int round = 0; round < ROUNDS; round++) {
            long seed = Campaigns.BASE_SEED + round;
            SplittableRandom random = new SplittableRandom(seed);
            String context = "round " + round + " seed " + seed;
            Path objects = tmp.resolve("round-" + round).resolve("objects");
            Path dirA = tmp.resolve("round-" + round).resolve("a");
            Path dirB = tmp.resolve("round-" + round).resolve("b");
            AckLedger ledger = new AckLedger();
            Set<Long> zombies = new HashSet<>();
            List<Long> ids = new ArrayList<>();
            try (LocalObjectStorage localA = LocalObjectStorage.open(objects);
                 LocalObjectStorage localB = LocalObjectStorage.open(objects)) {
                PausableObjectStorage storageA = new PausableObjectStorage(localA);
                DurableStreamStore a = StoreFixtures.campaign(dirA).objectStorage(storageA).build();
                DurableStreamStore b = null;
                try {
                    List<Stream> streamsA = new ArrayList<>();
                    for (int i = 0; i < STREAMS; i++) {
                        Stream s = await(a.createStream(StreamOptions.defaults()));
                        streamsA.add(s);
                        ids.add(s.id());
                    }
                    int before = 5 + random.nextInt(30);
                    for (int n = 0; n < before; n++) {
                        for (Stream s : streamsA) {
                            long bs = seed * 1_000_000L + s.id() * 10_000 + n;
                            ledger.ack(s.id(), await(s.append(Campaigns.batch(bs))).baseOffset(), bs);
                        }
                    }
                    await(a.flush()); // committed: B must see all of it

                    storageA.pause(); // A freezes as far as the bucket is concerned
                    int paused = 1 + random.nextInt(20);
                    for (int n = 0; n < paused; n++) {
                        for (Stream s : streamsA) {
                            long zs = seed * 1_000_000L + s.id() * 10_000 + 5_000 + n;
                            try {
                                await(s.append(Campaigns.batch(zs)));
                                zombies.add(zs); // acknowledged by A's WAL, never committed
                            } catch (BackpressureException e) {
                                // A's WAL and cache cannot drain while paused; fine
                            }
                        }
                    }
                    CompletableFuture<Void> zombieFlush = a.flush();

                    b = StoreFixtures.campaign(dirB).objectStorage(localB).build(); // fences A
                    List<Stream> streamsB = new ArrayList<>();
                    for (long id : ids) {
                        Stream s = await(b.openStream(id, 1));
                        verified += Campaigns.verifyAcknowledged(s, ledger, context + " takeover");
                        streamsB.add(s);
                    }
                    int after = 5 + random.nextInt(30);
                    for (int n = 0; n < after; n++) {
                        for (Stream s : streamsB) {
                            long bs = seed * 1_000_000L + s.id() * 10_000 + 8_000 + n;
                            ledger.ack(s.id(), await(s.append(Campaigns.batch(bs))).baseOffset(), bs);
                        }
                    }
                    if (random.nextBoolean()) {
                        await(b.flush());
                    }

                    heldRequests += storageA.held();
                    storageA.resume(); // A wakes up and sends what it held
                    assertThatThrownBy(() -> await(zombieFlush)).as(context).isInstanceOf(StreamFencedException.class);
                    for (Stream s : streamsA) {
                        assertThatThrownBy(() -> await(s.append(Campaigns.batch(seed))))
                                .as("%s: fenced writer's append", context).isInstanceOf(StreamFencedException.class);
                        assertThatThrownBy(() -> await(s.trim(s.nextOffset())))
                                .as("%s: fenced writer's trim", context).isInstanceOf(StreamFencedException.class);
                    }
                    assertThatThrownBy(() -> await(a.flush())).as(context).isInstanceOf(StreamFencedException.class);

                    await(b.flush());
                    for (Stream s : streamsB) {
                        verified += Campaigns.verifyAcknowledged(s, ledger, context + " after A resumed");
                        assertThat(Campaigns.readAll(s, ledger, context).batches.values())
                                .as("%s: nothing the paused writer wrote is visible", context).doesNotContainAnyElementsOf(zombies);
                    }
                } finally {
                    a.close();
                    if (b != null) {
                        b.close();
                    }
                }
                zombieAppends += zombies.size();

                // A's process restarts on its old WAL, which still holds the paused-time records.
                try (DurableStreamStore again = StoreFixtures.campaign(dirA).objectStorage(localA).build()) {
                    for (long id : ids) {
                        Stream s = await(again.openStream(id, 2));
                        verified += Campaigns.verifyAcknowledged(s, ledger, context + " old WAL replayed");
                        assertThat(Campaigns.readAll(s, ledger, context).batches.values())
                                .as("%s: replaying the fenced writer's WAL resurrects nothing; %s", context,
                                        again.recoveryReport().summary())
                                .doesNotContainAnyElementsOf(zombies);
                    }
                }

            }
        }
        Campaigns.report("FencingCampaignTest", "rounds=" + ROUNDS + " heldRequestsReleasedAfterTakeover=" + heldRequests
                + " zombieAppendsNeverVisible=" + zombieAppends + " batchesVerified=" + verified + " losses=0 doubleCommits=0");
    }

    /**
     * The old process restarts on its old WAL after the takeover: the WAL still holds batches it
     * acknowledged while paused (epoch 0). The new owner opened the streams at epoch 1 and committed
     * nothing more, so the stale batches start exactly at the committed end. Replaying them would put
     * a fenced writer's data into the new owner's stream. Regression: the WAL replay once ignored
     * record epochs and resurrected exactly these batches (found by this campaign).
     */
    @Test
    void fencedWritersWalIsNotReplayedOverTheNewOwnersData() {
        Path objects = tmp.resolve("objects");
        AckLedger ledger = new AckLedger();
        Set<Long> zombies = new HashSet<>();
        long id;
        try (LocalObjectStorage local = LocalObjectStorage.open(objects)) {
            PausableObjectStorage storageA = new PausableObjectStorage(local);
            try (DurableStreamStore a = StoreFixtures.campaign(tmp.resolve("a")).objectStorage(storageA).build()) {
                Stream s = await(a.createStream(StreamOptions.defaults()));
                id = s.id();
                for (long seed = 1; seed <= 10; seed++) {
                    ledger.ack(id, await(s.append(Campaigns.batch(seed))).baseOffset(), seed);
                }
                await(a.flush());
                storageA.pause();
                for (long seed = 101; seed <= 105; seed++) {
                    await(s.append(Campaigns.batch(seed))); // acknowledged by A's WAL while A is paused
                    zombies.add(seed);
                }
                try (DurableStreamStore b = StoreFixtures.campaign(tmp.resolve("b")).objectStorage(local).build()) {
                    Stream taken = await(b.openStream(id, 1));
                    Campaigns.verifyAcknowledged(taken, ledger, "takeover");
                    await(b.flush());
                }
                storageA.resume();
            }
            try (DurableStreamStore again = StoreFixtures.campaign(tmp.resolve("a")).objectStorage(local).build()) {
                Stream s = await(again.openStream(id, 2));
                assertThat(Campaigns.readAll(s, ledger, "old WAL replayed").batches.values())
                        .as("a fenced writer's batches resurrected; %s", again.recoveryReport().summary())
                        .doesNotContainAnyElementsOf(zombies);
            }
        }
    }

    /**
     * The old owner, fenced but unaware, runs a compaction cycle with nothing to compact and an orphan
     * sweep with no TTL: every object the new owner uploaded is unknown to its stale metadata, so it
     * looks like an orphan. The sweep must fail fenced (its DeleteOrphans change cannot be written)
     * and delete nothing; the new owner's data stays readable. (A compaction task of a fenced owner
     * fails the same way at its replace: MetadataStoreContractTest and ManifestMetadataStoreTest.)
     */
    @Test
    void oldOwnersGarbageCollectionNeverDeletesTheNewOwnersObjects() {
        Path objects = tmp.resolve("gc-objects");
        AckLedger ledger = new AckLedger();
        List<Long> ids = new ArrayList<>();
        try (LocalObjectStorage localA = LocalObjectStorage.open(objects);
             LocalObjectStorage localB = LocalObjectStorage.open(objects)) {
            java.time.Duration zero = java.time.Duration.ZERO;
            try (DurableStreamStore a = StoreFixtures.campaign(tmp.resolve("gc-a")).objectStorage(localA).uploadInterval(java.time.Duration.ofHours(1))
                    .compactionInterval(zero).orphanTtl(zero).garbageGracePeriod(zero).build()) {
                for (int i = 0; i < STREAMS; i++) {
                    Stream s = await(a.createStream(StreamOptions.defaults()));
                    ids.add(s.id());
                    for (long n = 0; n < 5; n++) {
                        long seed = 9_000_000L + s.id() * 100 + n;
                        ledger.ack(s.id(), await(s.append(Campaigns.batch(seed))).baseOffset(), seed);
                    }
                }
                await(a.flush()); // one small, young stream-set object: nothing to compact, so the cycle goes to the sweep
                assertThat(a.storageSummary().compactionBacklogObjects()).isZero();
                List<String> newOwners;
                try (DurableStreamStore b = StoreFixtures.campaign(tmp.resolve("gc-b")).objectStorage(localB)
                        .compactionInterval(zero).build()) {
                    List<Stream> streamsB = new ArrayList<>();
                    for (long id : ids) {
                        Stream s = await(b.openStream(id, 1));
                        streamsB.add(s);
                        for (long n = 0; n < 5; n++) {
                            long seed = 9_500_000L + id * 100 + n;
                            ledger.ack(id, await(s.append(Campaigns.batch(seed))).baseOffset(), seed);
                        }
                    }
                    await(b.flush());
                    newOwners = dataObjects(localB);

                    assertThatThrownBy(() -> await(a.compact())).as("the fenced owner's compaction")
                            .isInstanceOf(StreamFencedException.class);
                    assertThat(dataObjects(localB)).as("every object of the new owner is still there")
                            .containsAll(newOwners);
                    for (Stream s : streamsB) {
                        Campaigns.verifyAcknowledged(s, ledger, "after the old owner's GC");
                    }
                }
            }
            try (DurableStreamStore c = StoreFixtures.campaign(tmp.resolve("gc-c")).objectStorage(localB).build()) {
                for (long id : ids) {
                    Campaigns.verifyAcknowledged(await(c.openStream(id, 2)), ledger, "next owner");
                }
            }
        }
    }

    private static List<String> dataObjects(LocalObjectStorage bucket) {
        List<String> keys = new ArrayList<>();
        for (var info : await(bucket.list(""))) {
            if (dev.strata.objectstore.ObjectKeys.parseObjectId(info.key()) >= 0) {
                keys.add(info.key());
            }
        }
        return keys;
    }
}
