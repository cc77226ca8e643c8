package dev.strata.core;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.AppendResult;
import dev.strata.api.BackpressureException;
import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamClosedException;
import dev.strata.api.StreamOptions;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.testing.FaultInjectingObjectStorage;
import dev.strata.testkit.Futures;
import dev.strata.wal.HeldCompletions;
import dev.strata.wal.SlowWal;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 18, items 2 and 13: a limit (WAL write buffers, WAL capacity, LogCache room) makes an append
 * wait up to {@code appendBackpressureWait} for that limit to clear; a burst far below the byte
 * limits is absorbed, and no {@link BackpressureException} comes back before the wait has passed.
 */
class AppendBackpressureTest {

    @TempDir
    Path dir;

    /** Payload of the batch at {@code offset}: its offset in the first 8 bytes, then bytes derived from it. */
    private static byte[] payload(long offset, int size) {
        byte[] b = new byte[size];
        ByteBuffer.wrap(b).putLong(offset);
        for (int i = 8; i < size; i++) {
            b[i] = (byte) (offset * 31 + i);
        }
        return b;
    }

    /** Reads every batch of {@code s} and checks it is the one appended at its offset. */
    private static void verify(Stream s, long batches, int size) {
        long offset = 0;
        while (offset < batches) {
            try (FetchResult r = await(s.fetch(offset, Long.MAX_VALUE, 1 << 20))) {
                assertThat(r.batches()).as("fetch at %d", offset).isNotEmpty();
                for (FetchedBatch b : r.batches()) {
                    assertThat(b.baseOffset()).isEqualTo(offset);
                    byte[] got = new byte[b.sizeBytes()];
                    b.payload().get(got);
                    assertThat(got).as("bytes at %d", offset).isEqualTo(payload(offset, size));
                    offset = b.nextOffset();
                }
            }
        }
        assertThat(s.nextOffset()).isEqualTo(batches);
    }

    /**
     * The embedded default, on a WAL small enough to wrap many times, on the real device or on a
     * slow one ({@code deviceLatencyMillis} per write, as on a loaded machine: writes stay in flight
     * while appends pile up behind them). Appends may wait up to a minute for room: these tests show
     * that room always comes back (no refusal, no deadlock, offsets in order), not how fast; with the
     * default 500 ms wait, an upload slowed by a loaded CI machine refused appends here.
     */
    private Strata.Builder smallWal(int deviceLatencyMillis) {
        Strata.Builder b = Strata.builder().dataDir(dir).walCapacity(64L << 20).uploadThresholdBytes(8L << 20)
                .logCacheBytes(32L << 20).blockCacheBytes(16L << 20).appendBackpressureWait(Duration.ofMinutes(1));
        return deviceLatencyMillis == 0 ? b
                : b.walOpener(options -> SlowWal.open(options, Duration.ofMillis(deviceLatencyMillis)));
    }

    @ParameterizedTest(name = "device latency {0} ms")
    @ValueSource(ints = {0, 5})
    void sixteenAppendsOf64KiBInFlightAcrossManyLapsOfASmallWalAreNeverRefused(int deviceLatencyMillis)
            throws Exception {
        int size = 64 << 10;
        long batches = 4 * (64L << 20) / size; // four laps of the WAL
        long id;
        try (DurableStreamStore store = smallWal(deviceLatencyMillis).build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            id = s.id();
            Semaphore inFlight = new Semaphore(16);
            Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
            List<CompletableFuture<AppendResult>> all = new ArrayList<>();
            for (long i = 0; i < batches && failures.isEmpty(); i++) {
                assertThat(inFlight.tryAcquire(Futures.TIMEOUT_SECONDS, TimeUnit.SECONDS)).isTrue();
                long expected = i;
                CompletableFuture<AppendResult> f = s.append(RecordBatch.of(1, ByteBuffer.wrap(payload(i, size))))
                        .whenComplete((r, e) -> {
                            inFlight.release();
                            if (e != null) {
                                failures.add(Futures.unwrap(e));
                            } else if (r.baseOffset() != expected) {
                                failures.add(new AssertionError("offset " + r.baseOffset() + ", expected " + expected));
                            }
                        });
                all.add(f);
            }
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).exceptionally(e -> null)
                    .get(Futures.TIMEOUT_SECONDS, TimeUnit.SECONDS);
            assertThat(failures).as("no append refused or failed").isEmpty();
            verify(s, batches, size);
        }
        try (DurableStreamStore store = smallWal(0).build()) {
            verify(await(store.openStream(id, 0)), batches, size);
        }
    }

    @ParameterizedTest(name = "device latency {0} ms")
    @ValueSource(ints = {0, 200}) // 200 ms: the whole burst is issued while the first writes are in flight
    void burstOfTwoThousandAppendsIssuedAtOnceOnOneStreamIsAbsorbed(int deviceLatencyMillis) throws Exception {
        int size = 4 << 10;
        int batches = 2000;
        long id;
        try (DurableStreamStore store = smallWal(deviceLatencyMillis).build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            id = s.id();
            List<CompletableFuture<AppendResult>> all = new ArrayList<>();
            for (int i = 0; i < batches; i++) {
                all.add(s.append(RecordBatch.of(1, ByteBuffer.wrap(payload(i, size)))));
            }
            for (int i = 0; i < batches; i++) {
                assertThat(await(all.get(i)).baseOffset()).as("append %d", i).isEqualTo(i);
            }
            verify(s, batches, size);
        }
        try (DurableStreamStore store = smallWal(0).build()) {
            verify(await(store.openStream(id, 0)), batches, size);
        }
    }

    /** A limit that stays full while appends keep coming. */
    enum Limit {
        /** Uploads fail: the LogCache fills with data not yet uploaded. */
        CACHE_FULL("log cache full"),
        /** Uploads fail: the WAL is never trimmed and fills (the cache is larger than the WAL). */
        WAL_FULL("WAL full"),
        /** WAL writes never complete: every write buffer stays taken. */
        WAL_BUFFERS("WAL write buffers all in use");

        final String message;

        Limit(String message) {
            this.message = message;
        }
    }

    @ParameterizedTest
    @EnumSource(Limit.class)
    void everyRefusalComesAfterTheConfiguredWait(Limit limit) throws Exception {
        Duration wait = Duration.ofMillis(100);
        int threads = 8;
        int refusalsPerThread = 3;
        try (LocalObjectStorage local = LocalObjectStorage.open(dir.resolve("objects"))) {
            FaultInjectingObjectStorage storage = new FaultInjectingObjectStorage(local, 18);
            HeldCompletions held = new HeldCompletions();
            Strata.Builder builder = Strata.builder().walPath(dir.resolve("wal")).objectStorage(storage)
                    .blockCacheBytes(4L << 20).uploadInterval(Duration.ofMillis(50))
                    .uploadRetryBackoff(Duration.ofMillis(10)).appendBackpressureWait(wait)
                    .maxBatchBytes(64 << 10);
            switch (limit) {
                case CACHE_FULL -> builder.walCapacity(64L << 20).logCacheBytes(4L << 20).uploadThresholdBytes(1L << 20);
                case WAL_FULL -> builder.walCapacity(4L << 20).logCacheBytes(32L << 20).uploadThresholdBytes(1L << 20);
                case WAL_BUFFERS -> builder.walCapacity(64L << 20).logCacheBytes(32L << 20)
                        .uploadThresholdBytes(8L << 20).walOpener(held::open);
            }
            Queue<Long> refusedAfterNanos = new ConcurrentLinkedQueue<>();
            Queue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
            try (DurableStreamStore store = builder.build()) {
                Stream s = await(store.createStream(StreamOptions.defaults()));
                if (limit == Limit.WAL_BUFFERS) {
                    held.hold();
                } else {
                    for (Operation op : List.of(Operation.PUT, Operation.MULTIPART_CREATE,
                            Operation.MULTIPART_UPLOAD_PART, Operation.MULTIPART_COMPLETE)) {
                        storage.failRate(op, 1.0, ObjectStorageException.Kind.THROTTLED);
                    }
                    // fill the limit from one thread, each append awaited, until it refuses: no WAL write is
                    // in flight afterwards, so nothing but the limit under test can refuse the appends below
                    // (a write stalled on a loaded disk would otherwise make the WAL's buffers refuse first)
                    Throwable first = null;
                    for (int i = 0; i < 10_000 && first == null; i++) {
                        first = s.append(RecordBatch.of(1, ByteBuffer.wrap(new byte[16 << 10])))
                                .handle((r, e) -> e == null ? null : Futures.unwrap(e)).join();
                    }
                    assertThat(first).as("the limit refused an append while it was being filled")
                            .isInstanceOf(BackpressureException.class).hasMessageContaining(limit.message);
                }
                CountDownLatch done = new CountDownLatch(threads);
                for (int t = 0; t < threads; t++) {
                    Thread thread = new Thread(() -> {
                        try {
                            int refusals = 0;
                            while (refusals < refusalsPerThread) {
                                long start = System.nanoTime();
                                CompletableFuture<AppendResult> f = s.append(RecordBatch.of(1,
                                        ByteBuffer.wrap(new byte[16 << 10])));
                                Throwable refused = f.isCompletedExceptionally()
                                        ? f.handle((r, e) -> Futures.unwrap(e)).join() : null;
                                long elapsed = System.nanoTime() - start;
                                if (refused instanceof BackpressureException) {
                                    refusals++;
                                    refusedAfterNanos.add(elapsed);
                                    if (!refused.getMessage().contains(limit.message)) {
                                        unexpected.add(refused);
                                    }
                                } else if (refused != null) {
                                    unexpected.add(refused);
                                }
                            }
                        } catch (Throwable e) {
                            unexpected.add(e);
                        } finally {
                            done.countDown();
                        }
                    }, "appender-" + t);
                    thread.start();
                }
                try {
                    assertThat(done.await(Futures.TIMEOUT_SECONDS, TimeUnit.SECONDS)).isTrue();
                } finally {
                    held.release(); // also on failure: close() waits for the held writes
                    storage.clear();
                }
                assertThat(unexpected).as("only refusals by the limit under test").isEmpty();
                assertThat(refusedAfterNanos).hasSize(threads * refusalsPerThread);
                assertThat(refusedAfterNanos).as("every refusal waited appendBackpressureWait (%s), in ns", wait)
                        .allSatisfy(nanos -> assertThat(nanos).isGreaterThanOrEqualTo(wait.toNanos()));
            }
        }
    }
    /**
     * An append waiting for LogCache room or WAL room when the store closes fails with
     * StreamClosedException then, not when its (here one minute) wait would have ended.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void closeEndsTheWaitOfAnAppendWaitingForRoom(boolean walFull) throws Exception {
        try (LocalObjectStorage local = LocalObjectStorage.open(dir.resolve("objects"))) {
            FaultInjectingObjectStorage storage = new FaultInjectingObjectStorage(local, 19);
            DurableStreamStore store = Strata.builder().walPath(dir.resolve("wal")).objectStorage(storage)
                    .walCapacity(walFull ? 4L << 20 : 64L << 20).logCacheBytes(walFull ? 32L << 20 : 4L << 20)
                    .uploadThresholdBytes(1L << 20)
                    .blockCacheBytes(4L << 20).maxBatchBytes(64 << 10).uploadInterval(Duration.ofMillis(50))
                    .uploadRetryBackoff(Duration.ofMillis(10)).appendBackpressureWait(Duration.ofMinutes(1))
                    .closeUploadTimeout(Duration.ofMillis(200)).build();
            Stream s = await(store.createStream(StreamOptions.defaults()));
            for (Operation op : List.of(Operation.PUT, Operation.MULTIPART_CREATE, Operation.MULTIPART_UPLOAD_PART,
                    Operation.MULTIPART_COMPLETE)) {
                storage.failRate(op, 1.0, ObjectStorageException.Kind.THROTTLED);
            }
            CompletableFuture<CompletableFuture<AppendResult>> waiting = new CompletableFuture<>();
            Thread appender = new Thread(() -> {
                CompletableFuture<AppendResult> last = null;
                // fill the cache; the append that finds it full waits for room
                for (int i = 0; i < 1000 && !waiting.isDone(); i++) {
                    last = s.append(RecordBatch.of(1, ByteBuffer.wrap(new byte[16 << 10])));
                    if (last.isCompletedExceptionally()) {
                        break;
                    }
                }
                waiting.complete(last);
            }, "appender");
            appender.start();
            // The appender is in its bounded wait once it parks with a timeout: that is when to close.
            while (appender.getState() != Thread.State.TIMED_WAITING && appender.isAlive()) {
                Thread.onSpinWait();
            }
            assertThat(appender.isAlive()).as("the cache filled and the appender waits for room").isTrue();
            store.close();
            CompletableFuture<AppendResult> last = waiting.get(30, TimeUnit.SECONDS); // far below the 1 minute wait
            assertThat(last.handle((r, e) -> Futures.unwrap(e)).join()).isInstanceOf(StreamClosedException.class);
            storage.clear();
        }
    }
}
