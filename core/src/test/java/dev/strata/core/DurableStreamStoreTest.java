package dev.strata.core;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.RecordBatch;
import dev.strata.api.StorageException;
import dev.strata.api.Stream;
import dev.strata.api.StreamFencedException;
import dev.strata.api.StreamOptions;
import dev.strata.core.support.Futures;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.testing.FaultInjectingObjectStorage;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Engine behaviour beyond the API contract: uploads, catch-up reads, recovery, faults, fencing. */
class DurableStreamStoreTest {

    @TempDir
    Path dir;

    static byte[] payload(long streamId, long offset) {
        Random r = new Random(streamId * 1_000_003L + offset);
        byte[] b = new byte[50 + r.nextInt(2000)];
        r.nextBytes(b);
        return b;
    }

    /** Appends batches whose bytes are derived from (stream, base offset) and waits for all. */
    static void appendDerived(Stream s, int batches) {
        for (int i = 0; i < batches; i++) {
            long base = s.nextOffset();
            byte[] p = payload(s.id(), base);
            long got = await(s.append(RecordBatch.of(1 + (int) (base % 3), base, ByteBuffer.wrap(p)))).baseOffset();
            assertThat(got).isEqualTo(base);
        }
    }

    /** Reads the whole stream from its start and checks every batch's bytes against {@link #payload}. */
    static long verifyDerived(Stream s) {
        long offset = s.startOffset();
        long batches = 0;
        while (offset < s.nextOffset()) {
            try (FetchResult r = await(s.fetch(offset, Long.MAX_VALUE, 64 * 1024))) {
                assertThat(r.batches()).as("fetch at %d of stream %d", offset, s.id()).isNotEmpty();
                for (FetchedBatch b : r.batches()) {
                    assertThat(b.baseOffset()).as("contiguous offsets").isLessThanOrEqualTo(offset);
                    assertThat(b.nextOffset()).isGreaterThan(offset);
                    byte[] got = new byte[b.sizeBytes()];
                    b.payload().get(got);
                    assertThat(got).as("bytes of stream %d at %d", s.id(), b.baseOffset())
                            .isEqualTo(payload(s.id(), b.baseOffset()));
                    assertThat(b.baseTimestamp()).isEqualTo(b.baseOffset());
                    offset = b.nextOffset();
                    batches++;
                }
            }
        }
        return batches;
    }

    private Strata.Builder builder() {
        return StoreFixtures.small(dir).logCacheBytes(2L << 20).uploadThresholdBytes(256 << 10);
    }

    @Test
    void catchUpReadsComeFromObjectsWithExactBytesAfterCacheEviction() {
        try (DurableStreamStore store = builder().build()) {
            List<Stream> streams = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                streams.add(await(store.createStream(StreamOptions.defaults())));
            }
            for (int round = 0; round < 5; round++) {
                for (Stream s : streams) {
                    appendDerived(s, 20);
                }
            }
            await(store.flush());
            long batches = 0;
            for (Stream s : streams) {
                batches += verifyDerived(s);
            }
            assertThat(batches).isEqualTo(12 * 100);
        }
        // Objects really are in the object directory.
        try (LocalObjectStorage objects = LocalObjectStorage.open(dir.resolve("objects"))) {
            assertThat(await(objects.list("")).stream().filter(o -> o.key().contains("/sso/"))).isNotEmpty();
        }
    }

    @Test
    void streamWithLargeShareOfAnUploadGetsItsOwnStreamObject() {
        List<Long> ids = new ArrayList<>();
        // Only the flush below uploads (no size or age trigger), so exactly one upload sees all three streams.
        try (DurableStreamStore store = builder().uploadThresholdBytes(1L << 20).uploadInterval(Duration.ofHours(1))
                .streamObjectThresholdBytes(64 << 10).build()) {
            Stream big = await(store.createStream(StreamOptions.defaults()));
            Stream small = await(store.createStream(StreamOptions.defaults()));
            Stream tiny = await(store.createStream(StreamOptions.defaults()));
            ids.addAll(List.of(big.id(), small.id(), tiny.id()));
            appendDerived(big, 150);   // ~150 KiB: above the threshold
            appendDerived(small, 5);   // a few KiB: shares the stream-set object
            appendDerived(tiny, 1);
            await(store.flush());
        }
        try (LocalObjectStorage objects = LocalObjectStorage.open(dir.resolve("objects"))) {
            List<String> keys = await(objects.list("")).stream().map(o -> o.key()).toList();
            assertThat(keys).filteredOn(k -> k.contains("/so/")).hasSize(1);
            assertThat(keys).filteredOn(k -> k.contains("/sso/")).hasSize(1);
        }
        try (DurableStreamStore store = builder().build()) {
            assertThat(verifyDerived(await(store.openStream(ids.get(0), 0)))).isEqualTo(150);
            assertThat(verifyDerived(await(store.openStream(ids.get(1), 0)))).isEqualTo(5);
            assertThat(verifyDerived(await(store.openStream(ids.get(2), 0)))).isEqualTo(1);
        }
    }

    @Test
    void flushCommitsEverythingSoRestartReplaysNothing() {
        long id;
        try (DurableStreamStore store = builder().build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            id = s.id();
            appendDerived(s, 50);
            await(store.flush());
        }
        try (DurableStreamStore store = builder().build()) {
            assertThat(store.recoveryReport().recordsReplayed()).isZero();
            Stream s = await(store.openStream(id, 0));
            assertThat(s.nextOffset()).isPositive();
            assertThat(verifyDerived(s)).isEqualTo(50);
        }
    }

    @Test
    void objectStoreOutageLosesNothingAndUploadsResume() {
        try (LocalObjectStorage local = LocalObjectStorage.open(dir.resolve("objects"))) {
            FaultInjectingObjectStorage faulty = new FaultInjectingObjectStorage(local, 42);
            long id;
            try (DurableStreamStore store = builder().objectStorage(faulty).uploadInterval(Duration.ofHours(1)).build()) {
                Stream s = await(store.createStream(StreamOptions.defaults()));
                id = s.id();
                appendDerived(s, 20);
                for (Operation op : List.of(Operation.PUT, Operation.MULTIPART_CREATE, Operation.MULTIPART_UPLOAD_PART,
                        Operation.MULTIPART_COMPLETE)) {
                    faulty.failRate(op, 1.0, ObjectStorageException.Kind.TRANSIENT);
                }
                appendDerived(s, 20); // the WAL absorbs appends while the object store is down
                assertThatThrownBy(() -> await(store.flush())).isInstanceOf(StorageException.class);
                assertThat(verifyDerived(s)).isEqualTo(40);

                faulty.clear();
                await(store.flush());
                assertThat(faulty.injectedFaults()).isPositive();
            }
            try (DurableStreamStore store = builder().objectStorage(local).build()) {
                assertThat(store.recoveryReport().recordsReplayed()).isZero();
                assertThat(verifyDerived(await(store.openStream(id, 0)))).isEqualTo(40);
            }
        }
    }

    @Test
    void outageLongerThanTheCacheCanAbsorbFailsAppendsWithRetriableBackpressureThenResumes() {
        try (LocalObjectStorage local = LocalObjectStorage.open(dir.resolve("objects"))) {
            FaultInjectingObjectStorage faulty = new FaultInjectingObjectStorage(local, 7);
            long id;
            long acknowledged = 0;
            try (DurableStreamStore store = builder().objectStorage(faulty).logCacheBytes(1L << 20)
                    .uploadThresholdBytes(128 << 10).appendBackpressureWait(Duration.ofMillis(20)).build()) {
                Stream s = await(store.createStream(StreamOptions.defaults()));
                id = s.id();
                for (Operation op : List.of(Operation.PUT, Operation.MULTIPART_CREATE, Operation.MULTIPART_UPLOAD_PART,
                        Operation.MULTIPART_COMPLETE)) {
                    faulty.failRate(op, 1.0, ObjectStorageException.Kind.THROTTLED);
                }
                Throwable refused = null;
                for (int i = 0; i < 5000 && refused == null; i++) {
                    long base = s.nextOffset();
                    try {
                        await(s.append(RecordBatch.of(1 + (int) (base % 3), base, ByteBuffer.wrap(payload(s.id(), base)))));
                        acknowledged++;
                    } catch (RuntimeException e) {
                        refused = e;
                    }
                }
                assertThat(refused).isInstanceOf(dev.strata.api.BackpressureException.class);
                assertThat(((dev.strata.api.StrataException) refused).isRetriable()).isTrue();
                assertThat(verifyDerived(s)).as("everything acknowledged is readable during the outage").isEqualTo(acknowledged);

                faulty.clear(); // the outage ends: uploads resume by themselves (after their backoff)
                int refusals = 0;
                long target = acknowledged + 50;
                while (acknowledged < target) {
                    long base = s.nextOffset();
                    try {
                        await(s.append(RecordBatch.of(1 + (int) (base % 3), base, ByteBuffer.wrap(payload(s.id(), base)))));
                        acknowledged++;
                    } catch (dev.strata.api.BackpressureException e) {
                        // each refusal waited (bounded) for the uploader to free room; then we retry
                        assertThat(++refusals).as("appends resume without intervention").isLessThan(5000);
                    }
                }
                await(store.flush());
            }
            try (DurableStreamStore store = builder().objectStorage(local).build()) {
                assertThat(verifyDerived(await(store.openStream(id, 0)))).isEqualTo(acknowledged);
            }
        }
    }

    @Test
    void newProcessOnSameObjectStoreFencesThePreviousOne() {
        Path objects = dir.resolve("shared-objects");
        // Two machines: each its own data directory and WAL, one bucket.
        Strata.Builder a = builder().dataDir(dir.resolve("a")).walPath(dir.resolve("a.wal")).objectStore(objects.toUri());
        Strata.Builder b = builder().dataDir(dir.resolve("b")).walPath(dir.resolve("b.wal")).objectStore(objects.toUri());
        try (DurableStreamStore first = a.build()) {
            Stream s = await(first.createStream(StreamOptions.defaults()));
            appendDerived(s, 10);
            await(first.flush());
            try (DurableStreamStore second = b.build()) {
                Stream taken = await(second.openStream(s.id(), 1));
                assertThat(verifyDerived(taken)).isEqualTo(10);

                appendDerived(s, 1); // still reaches the old process's own WAL...
                assertThatThrownBy(() -> await(first.flush())).isInstanceOf(StreamFencedException.class);
                // ...but once it learnt it was fenced, it refuses every write.
                assertThatThrownBy(() -> await(s.append(RecordBatch.of(1, ByteBuffer.wrap(new byte[1])))))
                        .isInstanceOf(StreamFencedException.class);

                appendDerived(taken, 5);
                await(second.flush());
                assertThat(verifyDerived(taken)).isEqualTo(15);
            }
        }
    }

    /**
     * Regression: the WAL trim point once followed record positions as a chain, which the WAL's
     * padding at the end of each lap breaks; trims stalled after the first lap and appends then
     * failed with backpressure for ever. Writes several laps of a small WAL.
     */
    @Test
    void walKeepsBeingTrimmedAcrossManyLaps() {
        try (DurableStreamStore store = StoreFixtures.small(dir).walCapacity(4L << 20)
                .logCacheBytes(2L << 20).uploadThresholdBytes(256 << 10).appendBackpressureWait(Duration.ofSeconds(5))
                .build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            byte[] chunk = new byte[8 * 1024 - 7];
            long written = 0;
            int batches = 0;
            while (written < (16L << 20)) { // four laps
                long base = s.nextOffset();
                chunk[0] = (byte) base;
                await(s.append(RecordBatch.of(1, base, ByteBuffer.wrap(chunk))));
                written += chunk.length;
                batches++;
            }
            assertThat(s.nextOffset()).isEqualTo(batches);
        }
    }

    /** Regression: the default maxBatchBytes (1 MiB) once did not fit in one default WAL write buffer. */
    @Test
    void batchOfDefaultMaximumSizeIsAcceptedWithDefaultSettings() {
        try (DurableStreamStore store = Strata.builder().dataDir(dir).walCapacity(64L << 20)
                .uploadThresholdBytes(8L << 20).build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            byte[] big = new byte[Strata.Builder.DEFAULT_MAX_BATCH_BYTES];
            new Random(3).nextBytes(big);
            assertThat(await(s.append(RecordBatch.of(1, ByteBuffer.wrap(big)))).baseOffset()).isZero();
            try (FetchResult r = await(s.fetch(0, 1, 1))) {
                byte[] got = new byte[r.batches().get(0).sizeBytes()];
                r.batches().get(0).payload().get(got);
                assertThat(got).isEqualTo(big);
            }
        }
    }

    /**
     * Completions take no stream lock: a delete racing a stream's in-flight appends must still leave
     * its acknowledged appends a contiguous prefix, fail the rest with a typed exception, complete
     * every future, leak no buffer (paranoid leak detection), and leave other streams alone.
     */
    @Test
    void deletingAStreamWhileItsAppendsCompleteAcknowledgesAPrefixAndFailsTheRest() throws Exception {
        try (DurableStreamStore store = builder().logCacheBytes(8L << 20).build()) {
            Stream doomed = await(store.createStream(StreamOptions.defaults()));
            Stream other = await(store.createStream(StreamOptions.defaults()));
            java.util.concurrent.CountDownLatch someAcknowledged = new java.util.concurrent.CountDownLatch(200);
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            List<CompletableFuture<dev.strata.api.AppendResult>> submitted =
                    java.util.Collections.synchronizedList(new ArrayList<>());
            Thread appender = new Thread(() -> {
                java.util.ArrayDeque<CompletableFuture<dev.strata.api.AppendResult>> window = new java.util.ArrayDeque<>();
                while (!stop.get()) {
                    CompletableFuture<dev.strata.api.AppendResult> f =
                            doomed.append(RecordBatch.of(1, ByteBuffer.wrap(new byte[100])));
                    f.thenRun(someAcknowledged::countDown);
                    submitted.add(f);
                    window.add(f);
                    if (window.size() >= 32) {
                        window.poll().exceptionally(e -> null).join();
                    }
                    if (f.isCompletedExceptionally()) {
                        break; // refused at once: the stream is gone
                    }
                }
            }, "doomed-appender");
            appender.start();
            assertThat(someAcknowledged.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            appendDerived(other, 50);
            await(store.deleteStream(doomed.id(), doomed.epoch()));
            appender.join(30_000);
            stop.set(true);
            appender.join(30_000);
            assertThat(appender.isAlive()).isFalse();

            List<CompletableFuture<dev.strata.api.AppendResult>> all;
            synchronized (submitted) {
                all = new ArrayList<>(submitted);
            }
            long acknowledged = 0;
            boolean failed = false;
            for (CompletableFuture<dev.strata.api.AppendResult> f : all) {
                Throwable error = f.handle((r, e) -> e).get(30, java.util.concurrent.TimeUnit.SECONDS);
                if (error == null) {
                    assertThat(failed).as("an append acknowledged after an earlier one failed").isFalse();
                    assertThat(f.join().baseOffset()).as("acknowledged offsets are contiguous").isEqualTo(acknowledged);
                    acknowledged++;
                } else {
                    failed = true;
                    assertThat(Futures.unwrap(error)).isInstanceOfAny(
                            dev.strata.api.StreamNotFoundException.class, dev.strata.api.StreamClosedException.class);
                }
            }
            assertThat(acknowledged).isGreaterThanOrEqualTo(200);
            assertThat(failed).as("appends after the delete fail").isTrue();
            assertThatThrownBy(() -> await(doomed.fetch(0, Long.MAX_VALUE, 1000)))
                    .isInstanceOf(dev.strata.api.StreamNotFoundException.class);
            appendDerived(other, 50);
            assertThat(verifyDerived(other)).isEqualTo(100);
        }
    }

    @Test
    void appendFuturesCompleteOnTheInjectedCallbackExecutor() {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
        java.util.concurrent.atomic.AtomicInteger tasks = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.Executor counting = task -> {
            tasks.incrementAndGet();
            pool.execute(task);
        };
        try (DurableStreamStore store = builder().callbackExecutor(counting).build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            for (int i = 0; i < 5; i++) {
                await(s.append(RecordBatch.of(1, ByteBuffer.wrap(new byte[10]))));
            }
            assertThat(tasks.get()).as("each acknowledgement was completed by a task on the given executor")
                    .isGreaterThanOrEqualTo(5);
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void metricsArePublishedToTheGivenMeterRegistry() {
        io.micrometer.core.instrument.simple.SimpleMeterRegistry registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        // no timed uploads: exactly the two flushes below make objects, so compaction merges exactly two
        try (DurableStreamStore store = builder().meterRegistry(registry).uploadInterval(Duration.ofHours(1)).build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            appendDerived(s, 10);
            await(store.flush());
            appendDerived(s, 10);
            await(store.flush()); // two stream-set objects: one compaction task merges them
            verifyDerived(s);
            assertThatThrownBy(() -> await(s.append(RecordBatch.of(1, ByteBuffer.allocate(StoreFixtures.MAX_BATCH_BYTES + 1)))))
                    .isInstanceOf(dev.strata.api.RecordTooLargeException.class);
            // io_uring needs JDK 22+ and native access (these tests do not enable it); O_DIRECT works on this file system
            assertThat(store.walBackend()).isIn(Runtime.version().feature() >= 22 ? List.of("io_uring", "filechannel-direct")
                    : List.of("filechannel-direct"));
            assertThat(await(store.compact()).tasksRun()).isPositive();
            assertThat(registry.get("strata.compaction.tasks").counter().count()).isPositive();
            assertThat(registry.get("strata.compaction.objects").tag("side", "input").counter().count()).isEqualTo(2);
            assertThat(registry.get("strata.storage.objects").gauge().value())
                    .isEqualTo((double) store.storageSummary().objects());
            // every append completed (one refused): no room is still held for appends in flight
            assertThat(registry.get("strata.logcache.reserved.bytes").gauge().value()).isZero();
            MemoryLimits limits = store.memoryLimits();
            assertThat(registry.get("strata.memory.limit.bytes").gauge().value()).isEqualTo((double) limits.directBytes());
            assertThat(limits.logCacheBytes()).isEqualTo(2L << 20); // builder()
            assertThat(limits.walBytes()).isPositive();
            assertThat(limits.directBytes()).isEqualTo(limits.logCacheBytes() + limits.walBytes() + limits.blockCacheBytes()
                    + limits.inFlightReadBytes() + limits.compactionBytes() + limits.poolAllowanceBytes());
        }
        assertThat(registry.get("strata.append.latency").timer().count()).isEqualTo(20);
        assertThat(registry.get("strata.upload.commits").counter().count()).isGreaterThanOrEqualTo(1);
        assertThat(registry.get("strata.fetch").tag("source", "logcache").counter().count()).isPositive();
        assertThat(registry.get("strata.logcache.used.bytes").gauge()).isNotNull();
    }

    /**
     * One-byte appends, one at a time: every record is its own WAL write, padded to a 4 KiB block, so
     * the WAL fills about 80 times faster than the LogCache. The upload size trigger counts WAL bytes
     * too, so uploads trim the WAL long before it is full: with no backpressure wait at all, no append
     * is refused. (Counting cache bytes alone, the 16 MiB WAL fills after about 4,000 appends while
     * the cache holds 200 KiB, below the 256 KiB trigger: append 4,000 or so fails.)
     */
    @Test
    void walFilledByPaddingTriggersUploadsBeforeItIsFull() {
        try (DurableStreamStore store = builder().uploadInterval(java.time.Duration.ofHours(1))
                .appendBackpressureWait(java.time.Duration.ZERO).build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            for (int i = 0; i < 5000; i++) {
                assertThat(await(s.append(RecordBatch.of(1, ByteBuffer.wrap(new byte[] {(byte) i})))).baseOffset())
                        .isEqualTo(i);
            }
            try (FetchResult r = await(s.fetch(0, 1, 100))) {
                assertThat(r.batches().get(0).payload().get(0)).isEqualTo((byte) 0);
            }
        }
    }

    @Test
    void invalidConfigurationFailsBuildNamingTheSetting() {
        assertThatThrownBy(() -> Strata.builder().build()).hasMessageContaining("walPath");
        assertThatThrownBy(() -> Strata.builder().walPath(dir.resolve("w")).build()).hasMessageContaining("objectStore");
        assertThatThrownBy(() -> Strata.builder().walCapacity(10)).hasMessageContaining("walCapacity");
        assertThatThrownBy(() -> Strata.builder().dataDir(dir).walCapacity(1L << 20).maxBatchBytes(4 << 20)
                .logCacheBytes(16L << 20).uploadThresholdBytes(256 << 10).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxBatchBytes").hasMessageContaining("walCapacity");
        assertThatThrownBy(() -> Strata.builder().dataDir(dir).logCacheBytes(256L << 20).uploadThresholdBytes(200L << 20)
                .build())
                .hasMessageContaining("uploadThresholdBytes").hasMessageContaining("logCacheBytes");
        assertThatThrownBy(() -> Strata.builder().dataDir(dir).logCacheBytes(4L << 20).uploadThresholdBytes(1L << 20)
                .maxBatchBytes(2 << 20).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxBatchBytes").hasMessageContaining("logCacheBytes");
    }
}
