package dev.strata.core.reliability;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.OffsetOutOfRangeException;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.CompactionReport;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StorageSummary;
import dev.strata.core.StoreFixtures;
import dev.strata.core.Strata;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectKeys;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorageException.Kind;
import dev.strata.objectstore.ObjectStorages;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.format.ObjectReader;
import dev.strata.objectstore.format.StreamRange;
import dev.strata.objectstore.s3.S3ObjectStorage;
import dev.strata.objectstore.testing.FaultInjectingObjectStorage;
import dev.strata.objectstore.testing.S3ProxyServer;
import dev.strata.testkit.AckLedger;
import io.netty.buffer.Unpooled;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compaction and garbage collection (issue 7) on the real engine: many uploads, trims and
 * compactions with readers running concurrently, then checks that the object count is bounded,
 * storage amplification is at most 1.3, nothing unreferenced is left in the bucket and every live
 * acknowledged batch reads back exactly; deleted streams' objects and orphans are really deleted,
 * after the grace period / TTL and not before; a failing object store fails compaction tasks
 * without touching data. Time (data age, grace period, orphan TTL) is a {@link ManualClock}.
 */
class CompactionCampaignTest {
    private static final long TARGET = 64 << 10;
    private static final Duration GRACE = Duration.ofMinutes(1);
    private static final Duration ORPHAN_TTL = Duration.ofMinutes(10);
    private static final Duration SPLIT_AGE = Duration.ofMinutes(30);
    private static final int ROUNDS = Campaigns.rounds(24, 200);
    private static final int STREAMS = 6;

    private static S3ProxyServer s3;

    @TempDir
    Path tmp;

    private final ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));

    @AfterAll
    static void stopS3() throws Exception {
        if (s3 != null) {
            s3.stop();
        }
    }

    private Strata.Builder builder(Path dir) {
        return StoreFixtures.campaign(dir)
                .uploadInterval(Duration.ofHours(1)) // uploads happen at flush() (or the size threshold)
                .compactionInterval(Duration.ZERO) // cycles run at compact()
                .clock(clock)
                .compactionTargetObjectBytes(TARGET)
                .streamObjectThresholdBytes(32 << 10)
                .streamSetSplitAge(SPLIT_AGE)
                .garbageGracePeriod(GRACE)
                .orphanTtl(ORPHAN_TTL)
                .compactionBytesPerSecond(0);
    }

    @Test
    void manyUploadsTrimsAndCompactionsKeepObjectsFewAndEveryLiveOffsetReadable() throws Exception {
        Path dir = tmp.resolve("campaign");
        AckLedger ledger = new AckLedger();
        SplittableRandom random = new SplittableRandom(Campaigns.BASE_SEED);
        List<Long> ids = new ArrayList<>();
        long tasks = 0;
        long readerBatches = 0;
        StorageSummary summary;
        try (DurableStreamStore store = builder(dir).build()) {
            List<Stream> streams = new ArrayList<>();
            for (int i = 0; i < STREAMS; i++) {
                Stream s = await(store.createStream(StreamOptions.defaults()));
                streams.add(s);
                ids.add(s.id());
            }
            long[] counts = runRounds(store, streams, ledger, random, 0, ROUNDS);
            tasks += counts[0];
            readerBatches += counts[1];
            tasks += catchUp(store);
            summary = checkCaughtUp(store, dir);
            for (Stream s : streams) {
                Campaigns.verifyAcknowledged(s, ledger, "after compaction");
            }
        }
        // After a restart the LogCache is empty: the concurrent reader now reads compacted objects.
        long verified = 0;
        try (DurableStreamStore store = builder(dir).build()) {
            List<Stream> streams = new ArrayList<>();
            for (long id : ids) {
                streams.add(await(store.openStream(id, 0)));
            }
            long[] counts = runRounds(store, streams, ledger, random, ROUNDS, ROUNDS + ROUNDS / 2);
            tasks += counts[0];
            readerBatches += counts[1];
            tasks += catchUp(store);
            summary = checkCaughtUp(store, dir);
            for (Stream s : streams) {
                verified += Campaigns.verifyAcknowledged(s, ledger, "after restart and compaction");
            }
        }
        assertThat(tasks).as("compaction tasks run").isPositive();
        assertThat(verified).isPositive();
        Campaigns.report("CompactionCampaignTest", "rounds=" + (ROUNDS + ROUNDS / 2) + " streams=" + STREAMS + " tasks="
                + tasks + " readerBatches=" + readerBatches + " batchesVerified=" + verified + " objects="
                + summary.objects() + " storedBytes=" + summary.storedBytes() + " liveBytes=" + summary.liveBytes()
                + String.format(" amplification=%.3f", summary.amplification()) + " losses=0");
    }

    /**
     * Appends, uploads, trims and compacts for rounds {@code [from, to)} while a reader thread reads
     * random live offsets; returns {tasks run, batches the reader verified}.
     */
    private long[] runRounds(DurableStreamStore store, List<Stream> streams, AckLedger ledger,
            SplittableRandom random, int from, int to) throws InterruptedException {
        long tasks = 0;
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong verifiedByReader = new AtomicLong();
        CountDownLatch readerVerifiedOne = new CountDownLatch(1);
        ConcurrentLinkedQueue<Throwable> readerErrors = new ConcurrentLinkedQueue<>();
        Thread reader = new Thread(() -> readWhileCompacting(streams, stop, verifiedByReader, readerVerifiedOne, readerErrors),
                "test-reader");
        reader.start();
        try {
            for (int round = from; round < to; round++) {
                for (Stream s : streams) {
                    int batches = 1 + random.nextInt(4);
                    for (int b = 0; b < batches; b++) {
                        long seed = Campaigns.BASE_SEED * 1000 + round * 100_000L + s.id() * 100 + b;
                        ledger.ack(s.id(), await(s.append(Campaigns.batch(seed))).baseOffset(), seed);
                    }
                }
                await(store.flush());
                if (round % 4 == 3) {
                    for (Stream s : streams) {
                        List<Long> bases = new ArrayList<>(ledger.of(s.id()).keySet());
                        long target = bases.get(bases.size() / 3);
                        await(s.trim(target));
                        ledger.trim(s.id(), target);
                    }
                }
                if (round % 3 == 2) {
                    tasks += await(store.compact()).tasksRun();
                    clock.advance(Duration.ofSeconds(20));
                }
            }
            // a starved reader thread may not have read yet: wait for its first verified batch (or error)
            assertThat(readerVerifiedOne.await(60, TimeUnit.SECONDS) || !readerErrors.isEmpty())
                    .as("the reader verified a batch within a minute").isTrue();
        } finally {
            stop.set(true);
            reader.join();
        }
        assertThat(readerErrors).as("reads concurrent with compaction").isEmpty();
        assertThat(verifiedByReader.get()).as("the reader verified batches while compaction ran").isPositive();
        return new long[] {tasks, verifiedByReader.get()};
    }

    /** Lets compaction catch up: data ages past the split age, replaced objects past the grace period. */
    private long catchUp(DurableStreamStore store) {
        long tasks = 0;
        for (int i = 0; i < 10; i++) {
            clock.advance(SPLIT_AGE.plus(GRACE));
            CompactionReport r = await(store.compact());
            tasks += r.tasksRun();
            if (r.tasksRun() == 0 && r.objectsDeleted() == 0) {
                return tasks;
            }
        }
        throw new AssertionError("compaction did not settle in 10 cycles: " + store.storageSummary());
    }

    private static StorageSummary checkCaughtUp(DurableStreamStore store, Path dir) {
        StorageSummary summary = store.storageSummary();
        assertThat(summary.streamSetObjects()).as("all data split out of stream-set objects once old").isZero();
        assertThat(summary.amplification()).as("stored/live once compaction caught up: %s", summary).isLessThanOrEqualTo(1.3);
        // per stream: objects of at least half the target, plus fewer than 8 small ones at the tail
        assertThat(summary.objects()).as("%s", summary).isLessThanOrEqualTo(summary.liveBytes() / (TARGET / 2) + 8L * STREAMS);
        assertThat(summary.garbageObjects()).isZero();
        assertThat(summary.compactionBacklogObjects()).isZero();
        try (LocalObjectStorage bucket = LocalObjectStorage.open(dir.resolve("objects"))) {
            assertThat(dataObjects(bucket)).as("objects in the bucket: exactly the committed ones").hasSize((int) summary.objects());
        }
        return summary;
    }

    /** Reads random live offsets until stopped; a read below a concurrently moved start offset is fine. */
    private static void readWhileCompacting(List<Stream> streams, AtomicBoolean stop, AtomicLong verified,
            CountDownLatch verifiedOne,
            ConcurrentLinkedQueue<Throwable> errors) {
        SplittableRandom random = new SplittableRandom(7);
        while (!stop.get()) {
            Stream s = streams.get(random.nextInt(streams.size()));
            long start = s.startOffset();
            long end = s.nextOffset();
            if (end <= start) {
                Thread.onSpinWait();
                continue;
            }
            long offset = start + random.nextLong(end - start);
            try (FetchResult r = await(s.fetch(offset, Long.MAX_VALUE, 32 * 1024))) {
                for (FetchedBatch b : r.batches()) {
                    byte[] bytes = new byte[b.sizeBytes()];
                    b.payload().get(bytes);
                    if (!Campaigns.isGenuine(bytes) || b.count() != Campaigns.count(Campaigns.seedOf(bytes))) {
                        throw new AssertionError("stream " + s.id() + " batch at " + b.baseOffset() + " is not genuine");
                    }
                    verified.incrementAndGet();
                    verifiedOne.countDown();
                }
            } catch (OffsetOutOfRangeException e) {
                if (offset >= s.startOffset()) {
                    errors.add(e);
                }
            } catch (Throwable t) {
                errors.add(t);
            }
        }
    }

    @Test
    void deletingAStreamDeletesAllItsObjectsAfterTheGracePeriodOnLocalStorage() throws Exception {
        try (LocalObjectStorage local = LocalObjectStorage.open(tmp.resolve("bucket"))) {
            deletedStreamObjectsGoAfterGracePeriod(tmp.resolve("local"), local);
        }
    }

    @Test
    void deletingAStreamDeletesAllItsObjectsAfterTheGracePeriodOnS3() throws Exception {
        synchronized (CompactionCampaignTest.class) {
            if (s3 == null) {
                S3ProxyServer server = S3ProxyServer.inMemory();
                server.start();
                server.createBucket("compaction");
                s3 = server;
            }
        }
        java.util.concurrent.ScheduledExecutorService retries = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        try (var client = s3.newClient();
                ObjectStorage storage = S3ObjectStorage.create(client,
                        ObjectStorages.s3Options(s3.objectStoreUri("compaction", "delete-test/")),
                        new dev.strata.objectstore.Retrier(dev.strata.objectstore.RetryPolicy.defaults(),
                                (task, delay) -> retries.schedule(task, delay, java.util.concurrent.TimeUnit.NANOSECONDS),
                                System::nanoTime, new SplittableRandom(7)))) {
            deletedStreamObjectsGoAfterGracePeriod(tmp.resolve("s3"), storage);
        } finally {
            retries.shutdownNow();
        }
    }

    private void deletedStreamObjectsGoAfterGracePeriod(Path dir, ObjectStorage bucket) throws Exception {
        AckLedger ledger = new AckLedger();
        try (DurableStreamStore store = builder(dir).objectStorage(bucket).build()) {
            Stream kept = await(store.createStream(StreamOptions.defaults()));
            Stream deleted = await(store.createStream(StreamOptions.defaults()));
            for (int round = 0; round < 3; round++) {
                for (int b = 0; b < 5; b++) {
                    long seed = 500_000L + round * 100 + b;
                    ledger.ack(kept.id(), await(kept.append(Campaigns.batch(seed))).baseOffset(), seed);
                    await(deleted.append(Campaigns.batch(seed + 50)));
                }
                await(store.flush()); // a stream-set object holding both streams
            }
            for (int b = 0; b < 20; b++) { // ~40 KiB in one upload: its own stream object
                await(deleted.append(Campaigns.batch(600_000L + b)));
            }
            await(store.flush());
            assertThat(holders(bucket, deleted.id())).as("objects holding the stream before delete").isNotEmpty();

            await(store.deleteStream(deleted.id(), 0));
            CompactionReport first = await(store.compact());
            assertThat(first.tasksRun()).isPositive();
            assertThat(first.objectsDeleted()).as("nothing deleted within the grace period").isZero();
            assertThat(holders(bucket, deleted.id())).as("still there during the grace period").isNotEmpty();

            clock.advance(GRACE);
            CompactionReport second = await(store.compact());
            assertThat(second.objectsDeleted()).isPositive();
            assertThat(holders(bucket, deleted.id())).as("objects holding the deleted stream after the grace period").isEmpty();
            assertThat(dataObjects(bucket)).hasSize((int) store.storageSummary().objects());
            Campaigns.verifyAcknowledged(kept, ledger, "kept stream");
        }
    }

    @Test
    void orphansAreDeletedAfterTheirTtlAndCommittedObjectsNever() throws Exception {
        Path dir = tmp.resolve("orphans");
        AckLedger ledger = new AckLedger();
        try (LocalObjectStorage bucket = LocalObjectStorage.open(dir.resolve("bucket"));
                DurableStreamStore store = builder(dir).objectStorage(bucket).build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            for (int b = 0; b < 10; b++) {
                ledger.ack(s.id(), await(s.append(Campaigns.batch(700_000L + b))).baseOffset(), 700_000L + b);
            }
            await(store.flush());
            // an upload that crashed before its commit: a data object nobody references
            String orphan = ObjectKeys.dataObjectKey(ObjectKeys.ObjectType.STREAM_SET, 123_456_789L);
            await(bucket.put(orphan, Unpooled.wrappedBuffer(new byte[] {1, 2, 3})));
            List<String> committed = dataObjects(bucket).stream().filter(k -> !k.equals(orphan)).toList();
            assertThat(committed).isNotEmpty();

            assertThat(await(store.compact()).orphansDeleted()).isZero(); // first seen now
            clock.advance(ORPHAN_TTL.minusSeconds(1));
            assertThat(await(store.compact()).orphansDeleted()).isZero();
            assertThat(dataObjects(bucket)).contains(orphan);
            clock.advance(Duration.ofSeconds(1));
            assertThat(await(store.compact()).orphansDeleted()).isEqualTo(1);
            assertThat(dataObjects(bucket)).doesNotContain(orphan).containsAll(committed);
            Campaigns.verifyAcknowledged(s, ledger, "after the sweep");
        }
    }

    @Test
    void failingObjectStoreFailsCompactionTasksAndLosesNothing() throws Exception {
        Path dir = tmp.resolve("faults");
        AckLedger ledger = new AckLedger();
        List<Long> ids = new ArrayList<>();
        try (LocalObjectStorage local = LocalObjectStorage.open(dir.resolve("bucket"))) {
            FaultInjectingObjectStorage faulty = new FaultInjectingObjectStorage(local, 3);
            try (DurableStreamStore store = builder(dir).objectStorage(faulty).build()) {
                List<Stream> streams = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    streams.add(await(store.createStream(StreamOptions.defaults())));
                    ids.add(streams.get(i).id());
                }
                for (int round = 0; round < 4; round++) {
                    for (Stream s : streams) {
                        long seed = 800_000L + round * 100 + s.id();
                        ledger.ack(s.id(), await(s.append(Campaigns.batch(seed))).baseOffset(), seed);
                    }
                    await(store.flush());
                }
                for (Operation op : List.of(Operation.PUT, Operation.MULTIPART_CREATE, Operation.MULTIPART_UPLOAD_PART,
                        Operation.MULTIPART_COMPLETE)) {
                    faulty.failRate(op, 1.0, Kind.TRANSIENT);
                }
                long objectsBefore = store.storageSummary().objects();
                CompactionReport failed = await(store.compact());
                assertThat(failed.tasksFailed()).isPositive();
                assertThat(failed.tasksRun()).isZero();
                assertThat(store.storageSummary().objects()).isEqualTo(objectsBefore);
                for (Stream s : streams) {
                    Campaigns.verifyAcknowledged(s, ledger, "after failed compaction");
                }
                faulty.clear();
                assertThat(await(store.compact()).tasksRun()).isPositive();
                assertThat(store.storageSummary().objects()).isLessThan(objectsBefore);
                for (Stream s : streams) {
                    Campaigns.verifyAcknowledged(s, ledger, "after compaction");
                }
            }
        }
    }

    /**
     * Compaction yields to users' catch-up reads: a fetch from objects is held in flight (its first
     * GET does not complete), then a compaction cycle starts; before reading its inputs it waits
     * (counted by {@code strata.compaction.yields to=read}). Once the fetch's GET is released, the
     * fetch returns exact bytes and the compaction finishes.
     */
    @Test
    void compactionYieldsToCatchUpReadsInFlight() throws Exception {
        Path dir = tmp.resolve("yield");
        AckLedger ledger = new AckLedger();
        try (LocalObjectStorage local = LocalObjectStorage.open(dir.resolve("bucket"))) {
            HoldingStorage bucket = new HoldingStorage(local);
            long id;
            try (DurableStreamStore store = builder(dir).objectStorage(bucket).build()) {
                Stream s = await(store.createStream(StreamOptions.defaults()));
                id = s.id();
                for (int round = 0; round < 2; round++) {
                    for (int b = 0; b < 5; b++) {
                        long seed = 900_000L + round * 100 + b;
                        ledger.ack(id, await(s.append(Campaigns.batch(seed))).baseOffset(), seed);
                    }
                    await(store.flush()); // two stream-set objects: one task
                }
            }
            io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
                    new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
            try (DurableStreamStore store = builder(dir).objectStorage(bucket).meterRegistry(registry).build()) {
                Stream s = await(store.openStream(id, 1));
                bucket.holdNextGet();
                java.util.concurrent.CompletableFuture<FetchResult> fetch = s.fetch(0, Long.MAX_VALUE, 1 << 20);
                bucket.held.join(); // the fetch's first GET is waiting
                java.util.concurrent.CompletableFuture<CompactionReport> compaction = store.compact();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (registry.counter("strata.compaction.yields", "to", "read").count() < 1) {
                    assertThat(System.nanoTime()).as("compaction yielded to the read in flight").isLessThan(deadline);
                    assertThat(compaction).as("compaction finished without yielding to the read in flight").isNotDone();
                    Thread.onSpinWait();
                }
                bucket.release();
                try (FetchResult r = await(fetch)) {
                    assertThat(r.batches()).isNotEmpty();
                    for (FetchedBatch b : r.batches()) {
                        byte[] bytes = new byte[b.sizeBytes()];
                        b.payload().get(bytes);
                        assertThat(Campaigns.isGenuine(bytes)).isTrue();
                        assertThat(Campaigns.seedOf(bytes)).isEqualTo(ledger.of(id).get(b.baseOffset()));
                    }
                }
                assertThat(await(compaction).tasksRun()).isPositive();
                Campaigns.verifyAcknowledged(s, ledger, "after the yielding compaction");
            }
        }
    }

    /** Holds the next GET until {@link #release()}; everything else passes through. */
    private static final class HoldingStorage extends dev.strata.objectstore.ForwardingObjectStorage {
        final java.util.concurrent.CompletableFuture<Void> held = new java.util.concurrent.CompletableFuture<>();
        private final java.util.concurrent.CompletableFuture<Void> gate = new java.util.concurrent.CompletableFuture<>();
        private volatile boolean holdNext;

        HoldingStorage(ObjectStorage delegate) {
            super(delegate);
        }

        void holdNextGet() {
            holdNext = true;
        }

        void release() {
            gate.complete(null);
        }

        @Override
        public synchronized java.util.concurrent.CompletableFuture<dev.strata.objectstore.ObjectData> get(String key,
                dev.strata.objectstore.ByteRange range) {
            if (!holdNext) {
                return delegate.get(key, range);
            }
            holdNext = false;
            held.complete(null);
            return gate.thenCompose(v -> delegate.get(key, range));
        }
    }

    /** Data object keys in the bucket (manifest files excluded). */
    private static List<String> dataObjects(ObjectStorage bucket) {
        List<String> out = new ArrayList<>();
        for (ObjectInfo info : await(bucket.list(""))) {
            if (ObjectKeys.parseObjectId(info.key()) >= 0) {
                out.add(info.key());
            }
        }
        return out;
    }

    /** Data objects whose index lists {@code streamId}. */
    private static List<String> holders(ObjectStorage bucket, long streamId) {
        List<String> out = new ArrayList<>();
        for (ObjectInfo info : await(bucket.list(""))) {
            if (ObjectKeys.parseObjectId(info.key()) < 0) {
                continue;
            }
            ObjectReader reader = await(ObjectReader.open(bucket, info.key(), info.size()));
            for (StreamRange r : reader.index().streamRanges()) {
                if (r.streamId() == streamId) {
                    out.add(info.key());
                }
            }
        }
        return out;
    }
}
