package dev.strata.core.reliability;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.BackpressureException;
import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.StorageException;
import dev.strata.api.StrataException;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StoreFixtures;
import dev.strata.core.Strata;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectStorageException.Kind;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.Retrier;
import dev.strata.objectstore.RetryPolicy;
import dev.strata.objectstore.RetryingObjectStorage;
import dev.strata.objectstore.testing.FaultInjectingObjectStorage;
import dev.strata.testkit.AckLedger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Object-store faults under load. Each round runs three phases against a
 * {@link FaultInjectingObjectStorage} with a seeded random generator: (1) random error rates per
 * operation (PUT incl. the manifest's conditional writes, GET, HEAD, LIST, DELETE, multipart) with
 * 503 throttling or 500-style transient errors, plus lost responses of applied writes; (2) a 503
 * storm on every operation, longer than the WAL and cache can absorb (alternate rounds make the
 * WAL, not the cache, the resource that runs out); (3) latency spikes on every
 * completion. Meanwhile three streams append and a catch-up reader fetches older offsets. The
 * fault injector is wrapped in {@link UploadContractStorage}, because on its own it breaks the
 * streaming-upload contract (a failed part does not fail the upload) and so fabricates objects with
 * a missing part that no real store makes; above that sits the production retry layer
 * ({@link RetryingObjectStorage}, 10 attempts), as {@code S3ObjectStorage} retries by itself.
 *
 * <p>Checked: appends only ever succeed or fail with retriable {@link BackpressureException}
 * (object-store errors never fail an append), the storm does reach backpressure, appends resume by
 * themselves once faults clear; fetches return exact bytes or fail with a retriable
 * {@link StrataException}; opening the store while the object store fails fails fast with a
 * retriable {@link StorageException} and succeeds once it recovers (no crash loop), also when the
 * WAL holds data that could not be uploaded; and every acknowledged batch is readable after restart.
 * CI: 2 rounds; long: 40.
 */
class ObjectStoreFaultCampaignTest {
    private static final int ROUNDS = Campaigns.rounds(2, 40);
    private static final int STREAMS = 3;
    private static final Operation[] OPERATIONS = Operation.values();

    @TempDir
    Path tmp;

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void stopTimer() {
        timer.shutdownNow();
    }

    /**
     * Even rounds: the LogCache (2 MiB) fills before the WAL (16 MiB) during an outage; odd rounds:
     * the WAL (4 MiB) fills before the LogCache (8 MiB), an outage longer than the WAL can absorb.
     */
    private static Strata.Builder builder(Path dir) {
        boolean walBound = dir.getFileName().toString().endsWith("-wal-bound");
        Strata.Builder b = StoreFixtures.campaign(dir).uploadThresholdBytes(256L << 10)
                .appendBackpressureWait(Duration.ofMillis(20)).uploadRetryBackoff(Duration.ofMillis(5));
        return walBound ? b.walCapacity(4L << 20).logCacheBytes(8L << 20) : b.logCacheBytes(2L << 20);
    }

    @Test
    void faultsNeverLoseAcknowledgedDataAndOnlyBackpressureReachesAppends() {
        long verified = 0;
        long backpressured = 0;
        long fetchFailures = 0;
        long injected = 0;
        long openAttempts = 0;
        for (int round = 0; round < ROUNDS; round++) {
            long seed = Campaigns.BASE_SEED + round;
            SplittableRandom random = new SplittableRandom(seed);
            Path dir = tmp.resolve("round-" + round + (round % 2 == 1 ? "-wal-bound" : "-cache-bound"));
            String context = "round " + round + " seed " + seed + " " + dir.getFileName();
            AckLedger ledger = new AckLedger();
            List<Long> ids = new ArrayList<>();
            try (LocalObjectStorage local = LocalObjectStorage.open(dir.resolve("objects"))) {
                FaultInjectingObjectStorage faulty = new FaultInjectingObjectStorage(local, seed);
                // the production retry layer (what S3ObjectStorage has built in) over the faults
                dev.strata.objectstore.ObjectStorage storage = new RetryingObjectStorage(new UploadContractStorage(faulty),
                        new Retrier(RetryPolicy.builder().maxAttempts(10).baseDelay(Duration.ofMillis(1))
                                .maxDelay(Duration.ofMillis(20)).totalTimeout(Duration.ofSeconds(10)).build(),
                                (task, nanos) -> timer.schedule(task, nanos, TimeUnit.NANOSECONDS), System::nanoTime,
                                new SplittableRandom(seed)));
                Load load = new Load(ledger, random, seed, context);
                try (DurableStreamStore store = builder(dir).objectStorage(storage).build()) {
                    for (int i = 0; i < STREAMS; i++) {
                        Stream s = await(store.createStream(StreamOptions.defaults()));
                        load.streams.add(s);
                        ids.add(s.id());
                    }
                    // (1) random error rates per operation, and ambiguous (applied, then failed) writes
                    for (Operation op : OPERATIONS) {
                        faulty.failRate(op, random.nextDouble() * 0.3, random.nextBoolean() ? Kind.THROTTLED : Kind.TRANSIENT);
                    }
                    faulty.loseResponses(Operation.PUT, 1 + random.nextInt(3), Kind.TRANSIENT);
                    load.run(300, false);
                    // (2) a 503 storm on everything, longer than WAL and cache can absorb
                    faulty.clear();
                    for (Operation op : OPERATIONS) {
                        faulty.failRate(op, 1.0, Kind.THROTTLED);
                    }
                    load.run(3000, true);
                    assertThat(load.backpressured).as("%s: the storm must end in backpressure", context).isPositive();
                    assertThat(load.lastRefusal).as("%s: the resource that ran out", context)
                            .contains(dir.getFileName().toString().endsWith("-wal-bound") ? "WAL full" : "log cache full");
                    // (3) latency spikes
                    faulty.clear();
                    faulty.latency(TimeUnit.MILLISECONDS.toNanos(1 + random.nextInt(30)),
                            (task, nanos) -> timer.schedule(task, nanos, TimeUnit.NANOSECONDS));
                    load.run(150, false);
                    faulty.clear();
                    load.run(100, false); // resumes by itself
                    flushWithRetries(store, context);
                    for (Stream s : load.streams) {
                        verified += Campaigns.verifyAcknowledged(s, ledger, context + " live");
                    }
                    // leave acknowledged data only in the WAL: the last upload at close fails
                    faulty.failRate(Operation.PUT, 1.0, Kind.THROTTLED);
                    faulty.failRate(Operation.MULTIPART_CREATE, 1.0, Kind.THROTTLED);
                    load.run(50, false);
                }
                backpressured += load.backpressured;
                fetchFailures += load.fetchFailures;

                // Opening while the object store is down fails fast and retriably...
                for (Operation op : OPERATIONS) {
                    faulty.failRate(op, 1.0, Kind.THROTTLED);
                }
                for (int i = 0; i < 3; i++) {
                    openAttempts++;
                    assertThat(openFailure(storage, dir)).as("%s: open during an outage", context)
                            .isInstanceOf(StorageException.class)
                            .matches(e -> ((StrataException) e).isRetriable(), "retriable");
                }
                // ...and with a flaky store, retrying the open succeeds: recovery never crash-loops.
                faulty.clear();
                for (Operation op : OPERATIONS) {
                    faulty.failRate(op, 0.3, Kind.THROTTLED);
                }
                DurableStreamStore reopened = null;
                for (int attempt = 0; attempt < 100 && reopened == null; attempt++) {
                    openAttempts++;
                    try {
                        reopened = builder(dir).objectStorage(storage).build();
                    } catch (StorageException e) {
                        assertThat(e.isRetriable()).as("%s: open attempt %d: %s", context, attempt, e).isTrue();
                    }
                }
                assertThat(reopened).as("%s: the store opens on a flaky object store", context).isNotNull();
                try (DurableStreamStore store = reopened) {
                    assertThat(store.recoveryReport().recordsReplayed()).as(context).isPositive();
                    faulty.clear();
                    for (long id : ids) {
                        verified += Campaigns.verifyAcknowledged(await(store.openStream(id, 1)), ledger, context + " replayed");
                    }
                    flushWithRetries(store, context);
                }
                injected += faulty.injectedFaults();
            }
            try (DurableStreamStore store = builder(dir).build()) {
                assertThat(store.recoveryReport().recordsReplayed()).as(context).isZero();
                for (long id : ids) {
                    verified += Campaigns.verifyAcknowledged(await(store.openStream(id, 2)), ledger, context + " restart");
                }
            }
        }
        Campaigns.report("ObjectStoreFaultCampaignTest", "rounds=" + ROUNDS + " faultsInjected=" + injected
                + " appendsBackpressured=" + backpressured + " fetchesFailedRetriably=" + fetchFailures
                + " openAttempts=" + openAttempts + " batchesVerified=" + verified + " losses=0");
    }

    private static Throwable openFailure(dev.strata.objectstore.ObjectStorage storage, Path dir) {
        try {
            builder(dir).objectStorage(storage).build().close();
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    private static void flushWithRetries(DurableStreamStore store, String context) {
        for (int attempt = 0; ; attempt++) {
            try {
                await(store.flush());
                return;
            } catch (StorageException e) {
                assertThat(e.isRetriable()).as("%s: flush: %s", context, e).isTrue();
                assertThat(attempt).as("%s: flush keeps failing after faults cleared", context).isLessThan(50);
            }
        }
    }

    /** Appends round-robin with a catch-up fetch after each append; tallies outcomes. */
    private static final class Load {
        final List<Stream> streams = new ArrayList<>();
        final AckLedger ledger;
        final SplittableRandom random;
        final long seed;
        final String context;
        long sequence;
        long backpressured;
        long fetchFailures;
        String lastRefusal = "";

        Load(AckLedger ledger, SplittableRandom random, long seed, String context) {
            this.ledger = ledger;
            this.random = random;
            this.seed = seed;
            this.context = context;
        }

        /** {@code appends} attempts; with {@code untilBackpressure}, stops at the first refusal. */
        void run(int appends, boolean untilBackpressure) {
            for (int i = 0; i < appends; i++) {
                Stream s = streams.get(i % streams.size());
                long batchSeed = seed * 1_000_000L + s.id() * 100_000 + sequence++;
                try {
                    long base = await(s.append(Campaigns.batch(batchSeed))).baseOffset();
                    ledger.ack(s.id(), base, batchSeed);
                } catch (BackpressureException e) {
                    backpressured++;
                    lastRefusal = e.getMessage();
                    if (untilBackpressure) {
                        return;
                    }
                }
                if (s.nextOffset() > 0) {
                    catchUpRead(s);
                }
            }
        }

        private void catchUpRead(Stream s) {
            long offset = random.nextLong(s.nextOffset());
            java.util.TreeMap<Long, Long> acked = ledger.of(s.id());
            try (FetchResult r = await(s.fetch(offset, Long.MAX_VALUE, 32 * 1024))) {
                for (FetchedBatch b : r.batches()) {
                    byte[] bytes = new byte[b.sizeBytes()];
                    b.payload().get(bytes);
                    Long expected;
                    synchronized (acked) {
                        expected = acked.get(b.baseOffset());
                    }
                    assertThat(expected).as("%s: fetched batch of stream %d at %d was acknowledged", context, s.id(),
                            b.baseOffset()).isNotNull();
                    assertThat(bytes).as("%s: exact bytes at %d", context, b.baseOffset()).isEqualTo(Campaigns.payload(expected));
                }
            } catch (StrataException e) {
                assertThat(e.isRetriable()).as("%s: a fetch during object-store faults failed with %s", context, e).isTrue();
                fetchFailures++;
            }
        }
    }
}
