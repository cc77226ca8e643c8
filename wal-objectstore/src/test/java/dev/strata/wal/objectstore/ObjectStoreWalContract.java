package dev.strata.wal.objectstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.BackpressureException;
import dev.strata.api.StorageException;
import dev.strata.api.StreamFencedException;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.wal.api.RecoveryReport;
import dev.strata.wal.api.WalAppendResult;
import dev.strata.wal.api.WalRecord;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The WAL contract (ordering, acknowledgement only when durable, trim, recovery after a crash,
 * fencing) and fault injection (slow, failed and lost PUTs, a lagging listing), run on each object
 * storage by a subclass. No test waits on time: flushes are triggered by size, by {@link
 * ObjectStoreWal#flush()} or by running the {@link ManualScheduler}; futures are awaited with a
 * generous bound that only a hang reaches.
 */
abstract class ObjectStoreWalContract {
    static final ByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;
    private static final long WAIT_SECONDS = 30;

    /** A fresh storage (or a fresh prefix of a shared one) for one test. */
    protected abstract ObjectStorage newStorage();

    /** A prefix not used by another test on the same storage. */
    protected abstract String newPrefix();

    protected ControllableStorage storage;
    protected ManualScheduler scheduler;
    protected String prefix;
    private final List<ObjectStoreWal> opened = new ArrayList<>();

    @BeforeEach
    void setUp() {
        storage = new ControllableStorage(newStorage());
        scheduler = new ManualScheduler();
        prefix = newPrefix();
    }

    @AfterEach
    void tearDown() {
        for (ObjectStoreWal w : opened) {
            scheduler.runAll();
            Thread closer = new Thread(w::close, "test-close");
            closer.start();
            try {
                closer.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (closer.isAlive()) {
                throw new AssertionError("close did not finish: " + w.debugState());
            }
        }
        storage.inner().close();
    }

    /** Whether the WALs of the tests seal at once when no PUT is in flight, unless a test says otherwise. */
    protected boolean earlyFlush() {
        return ObjectWalOptions.DEFAULT_EARLY_FLUSH;
    }

    ObjectWalOptions.Builder options() {
        return ObjectWalOptions.builder(prefix).flushBytes(4096).maxBufferedBytes(1 << 20).capacityBytes(1 << 20)
                .maxPutAttempts(3).retryBackoffNanos(0).earlyFlush(earlyFlush());
    }

    ObjectStoreWal open(ObjectWalOptions options) {
        ObjectStoreWal w = ObjectStoreWal.open(storage, options, scheduler, ALLOC);
        opened.add(w);
        return w;
    }

    ObjectStoreWal open() {
        return open(options().build());
    }

    static ByteBuf record(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        return ALLOC.directBuffer(b.length).writeBytes(b);
    }

    static <T> T await(CompletableFuture<T> f) {
        try {
            return f.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException | TimeoutException e) {
            throw new AssertionError("future did not complete: " + e, e);
        } catch (ExecutionException e) {
            throw new AssertionError("future failed: " + e.getCause(), e.getCause());
        }
    }

    static Throwable failure(CompletableFuture<?> f) {
        try {
            f.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (InterruptedException | TimeoutException e) {
            throw new AssertionError("future did not complete: " + e, e);
        }
        throw new AssertionError("future succeeded, a failure was expected");
    }

    /** Every record recovered, as text with its position; bodies released. */
    static List<String> recovered(ObjectStoreWal wal) {
        List<String> out = new ArrayList<>();
        try (ObjectWalRecovery r = wal.recover()) {
            while (r.hasNext()) {
                WalRecord rec = r.next();
                try {
                    out.add(rec.position() + ":" + rec.body().toString(StandardCharsets.UTF_8));
                } finally {
                    rec.body().release();
                }
            }
        }
        return out;
    }

    static String entry(WalAppendResult r, String text) {
        return r.position() + ":" + text;
    }

    String key(long sequence) {
        return new WalObjectKeys(prefix).key(sequence);
    }

    List<String> walKeys() {
        List<String> keys = new ArrayList<>();
        for (ObjectInfo i : await(storage.inner().list(prefix + "/wal/"))) {
            keys.add(i.key());
        }
        return keys;
    }

    // ------------------------------------------------------------------ contract

    @Test
    void appendsAreAcknowledgedInAppendOrderWithContiguousPositions() {
        ObjectStoreWal wal = open();
        long start = wal.writePosition();
        List<Integer> order = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch allRan = new CountDownLatch(200);
        List<CompletableFuture<WalAppendResult>> fs = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            int n = i;
            CompletableFuture<WalAppendResult> f = wal.append(record("r" + i + "-" + "x".repeat(i % 97)));
            f.thenRun(() -> {
                order.add(n);
                allRan.countDown();
            });
            fs.add(f);
        }
        scheduler.runAll(); // the interval flush of the last, partly filled object
        // Wait on the latch, not on the futures: a thread waiting in get() may run a future's
        // dependents itself, after later futures' dependents ran on the completing thread.
        try {
            assertThat(allRan.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        assertThat(order).hasSize(200).isSorted();
        long expected = start;
        for (CompletableFuture<WalAppendResult> f : fs) {
            WalAppendResult r = await(f);
            assertThat(r.position()).isEqualTo(expected);
            expected = r.nextPosition();
        }
        assertThat(wal.writePosition()).isEqualTo(expected);
        assertThat(wal.nextSequence()).as("several objects, by size").isGreaterThan(wal.fenceSequence() + 3);
    }

    @Test
    void aRecordIsNotAcknowledgedBeforeTheIntervalFlushMakesItDurable() {
        ObjectStoreWal wal = open(options().earlyFlush(false).build());
        int objectsBefore = walKeys().size();
        CompletableFuture<WalAppendResult> f = wal.append(record("lonely"));
        assertThat(f).isNotDone();
        assertThat(walKeys()).hasSize(objectsBefore);
        assertThat(scheduler.pending()).isEqualTo(1);
        scheduler.runAll();
        await(f);
        assertThat(walKeys()).hasSize(objectsBefore + 1);
    }

    @Test
    void whatWasAcknowledgedIsRecoveredAfterACrash() {
        ObjectStoreWal first = open();
        List<CompletableFuture<WalAppendResult>> fs = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            fs.add(appendAndFlushIfLast(first, "crash-" + i, i == 49));
        }
        List<String> acked = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            acked.add(entry(await(fs.get(i)), "crash-" + i));
        }
        // no close: the first instance is dropped as if its process died
        ObjectStoreWal second = open();
        assertThat(recovered(second)).containsExactlyElementsOf(acked);
        assertThat(second.nodeEpoch()).isGreaterThan(first.nodeEpoch());
        try (ObjectWalRecovery again = second.recover()) {
            assertThatThrownBy(again::report).isInstanceOf(IllegalStateException.class);
            while (again.hasNext()) {
                again.next().body().release();
            }
            assertThat(again.report().records()).isEqualTo(50);
            assertThat(again.lostRegionsSoFar()).isEmpty();
        }
        RecoveryReport report = second.recoveryReport();
        assertThat(report.records()).isEqualTo(50);
        assertThat(report.stopReason()).isEqualTo(RecoveryReport.StopReason.END_OF_LOG);
    }

    private CompletableFuture<WalAppendResult> appendAndFlushIfLast(ObjectStoreWal wal, String text, boolean last) {
        CompletableFuture<WalAppendResult> f = wal.append(record(text));
        if (last) {
            wal.flush();
        }
        return f;
    }

    @Test
    void reopeningAfterCloseContinuesTheLog() {
        ObjectStoreWal first = open();
        WalAppendResult a = await(appendAndFlushIfLast(first, "a", true));
        first.close();
        assertThat(failure(first.append(record("late")))).isInstanceOf(StorageException.class);
        ObjectStoreWal second = open();
        assertThat(recovered(second)).containsExactly(entry(a, "a"));
        assertThat(second.writePosition()).isEqualTo(a.nextPosition());
        WalAppendResult b = await(appendAndFlushIfLast(second, "b", true));
        assertThat(b.position()).isEqualTo(a.nextPosition());
        second.close();
        ObjectStoreWal third = open();
        assertThat(recovered(third)).containsExactly(entry(a, "a"), entry(b, "b"));
    }

    @Test
    void objectKeysAreContiguousZeroPaddedSequences() {
        ObjectStoreWal wal = open();
        await(appendAndFlushIfLast(wal, "one", true));
        await(appendAndFlushIfLast(wal, "two", true));
        long fence = wal.fenceSequence();
        assertThat(walKeys()).containsExactly(key(fence), key(fence + 1), key(fence + 2));
        assertThat(key(fence + 2)).matches(prefix + "/wal/\\d{20}");
    }

    @Test
    void trimmedRecordsAreNotRecoveredAndWhollyTrimmedObjectsAreDeleted() {
        ObjectStoreWal wal = open();
        long fence = wal.fenceSequence();
        WalAppendResult a = await(appendAndFlushIfLast(wal, "a", true)); // fence + 1
        WalAppendResult b = await(appendAndFlushIfLast(wal, "b", true)); // fence + 2
        WalAppendResult c = await(appendAndFlushIfLast(wal, "c", true)); // fence + 3
        long usedBefore = wal.used();
        CompletableFuture<Void> trimmed = wal.trim(b.nextPosition());
        assertThat(trimmed).as("durable only once an object carries the trim point").isNotDone();
        assertThat(wal.used()).isEqualTo(usedBefore);
        scheduler.runAll(); // seals an empty object carrying the trim point
        await(trimmed);
        assertThat(wal.used()).isEqualTo(wal.writePosition() - b.nextPosition());
        assertThat(wal.trim(a.nextPosition())).as("at or below the trim point: ignored").isDone();
        wal.close(); // waits for the deletes
        assertThat(walKeys()).as("the data objects below the trim point are deleted; the fence object stays for good")
                .containsExactly(key(fence), key(fence + 3), key(fence + 4));
        ObjectStoreWal reopened = open();
        assertThat(recovered(reopened)).containsExactly(entry(c, "c"));
        long secondFence = reopened.fenceSequence();
        reopened.close();
        assertThat(walKeys()).as("the next open deletes no fence either").contains(key(fence), key(secondFence));
    }

    @Test
    void trimInsideAnObjectSkipsOnlyTheRecordsBelowIt() {
        ObjectStoreWal wal = open();
        CompletableFuture<WalAppendResult> fx = wal.append(record("x"));
        CompletableFuture<WalAppendResult> fy = wal.append(record("y"));
        wal.flush();
        WalAppendResult x = await(fx);
        WalAppendResult y = await(fy);
        CompletableFuture<Void> trimmed = wal.trim(x.nextPosition());
        scheduler.runAll();
        await(trimmed);
        ObjectStoreWal reopened = open();
        assertThat(recovered(reopened)).containsExactly(entry(y, "y"));
    }

    @Test
    void aFullWalRefusesAppendsWithBackpressureUntilATrimIsDurable() throws InterruptedException {
        ObjectStoreWal wal = open(options().capacityBytes(8192).build());
        String body = "y".repeat(1000);
        List<CompletableFuture<WalAppendResult>> fs = new ArrayList<>();
        CompletableFuture<WalAppendResult> refused = null;
        for (int i = 0; i < 20 && refused == null; i++) {
            CompletableFuture<WalAppendResult> f = wal.append(record(body));
            if (f.isCompletedExceptionally()) {
                refused = f;
            } else {
                fs.add(f);
            }
        }
        assertThat(refused).as("capacity reached").isNotNull();
        assertThat(failure(refused)).isInstanceOf(BackpressureException.class);
        assertThat(wal.free()).isLessThan(1000 + WalObjectDescriptor.RECORD_FRAME_BYTES);
        assertThat(wal.awaitRoom(1000, 0)).isFalse();
        wal.flush();
        WalAppendResult last = null;
        for (CompletableFuture<WalAppendResult> f : fs) {
            last = await(f);
        }
        CompletableFuture<Void> trimmed = wal.trim(last.nextPosition());
        scheduler.runAll();
        await(trimmed);
        assertThat(wal.used()).isZero();
        assertThat(wal.awaitRoom(1000, 0)).isTrue();
        CompletableFuture<WalAppendResult> again = wal.append(record(body));
        wal.flush();
        assertThat(await(again).position()).isEqualTo(last.nextPosition());
    }

    @Test
    void aRecordLargerThanTheWalCanHoldIsRefused() {
        ObjectStoreWal wal = open(options().capacityBytes(8192).build());
        CompletableFuture<WalAppendResult> f = wal.append(ALLOC.directBuffer(9000).writeZero(9000));
        assertThat(failure(f)).isInstanceOf(dev.strata.api.RecordTooLargeException.class);
    }

    @Test
    void aSecondOpenerFencesTheFirst() {
        ObjectStoreWal first = open();
        WalAppendResult a = await(appendAndFlushIfLast(first, "a", true));
        ObjectStoreWal second = open();
        CompletableFuture<WalAppendResult> late = first.append(record("late"));
        first.flush();
        assertThat(failure(late)).isInstanceOf(StreamFencedException.class);
        assertThat(failure(first.append(record("later")))).isInstanceOf(StreamFencedException.class);
        assertThat(first.failure()).isInstanceOf(StreamFencedException.class);
        assertThat(recovered(second)).containsExactly(entry(a, "a"));
        WalAppendResult b = await(appendAndFlushIfLast(second, "b", true));
        ObjectStoreWal third = open();
        assertThat(recovered(third)).containsExactly(entry(a, "a"), entry(b, "b"));
    }

    // ------------------------------------------------------------------ early flush (the scheduler is the clock)

    @Test
    void withEarlyFlushARecordThatFindsNoPutInFlightIsSentAtOnce() {
        ObjectStoreWal wal = open(options().earlyFlush(true).build());
        long s = wal.nextSequence();
        CompletableFuture<WalAppendResult> f = wal.append(record("alone"));
        assertThat(storage.putKeys).as("sent before any time passed").contains(key(s));
        WalAppendResult r = await(f); // the scheduler never ran
        assertThat(scheduler.pending()).as("no interval timer left armed").isZero();
        ObjectStoreWal reopened = open();
        assertThat(recovered(reopened)).containsExactly(entry(r, "alone"));
    }

    @Test
    void withEarlyFlushRecordsGatherWhileAPutIsInFlightUntilTheInterval() {
        ObjectStoreWal wal = open(options().earlyFlush(true).build());
        long s = wal.nextSequence();
        CompletableFuture<Void> release = storage.hold(key(s));
        CompletableFuture<WalAppendResult> first = wal.append(record("first")); // nothing in flight: sent at once, held
        assertThat(storage.putKeys).contains(key(s));
        CompletableFuture<WalAppendResult> second = wal.append(record("second")); // a PUT in flight: waits
        CompletableFuture<WalAppendResult> third = wal.append(record("third"));
        assertThat(storage.putKeys).as("no PUT started while one is in flight").doesNotContain(key(s + 1));
        assertThat(scheduler.pending()).as("the interval timer of the waiting records").isEqualTo(1);
        scheduler.runAll(); // the interval passes: the timer seals them beside the held PUT
        await(storage.landed(key(s + 1)));
        assertThat(second).as("acknowledged only once the earlier object is durable").isNotDone();
        assertThat(third).isNotDone();
        release.complete(null);
        WalAppendResult a = await(first);
        WalAppendResult b = await(second);
        WalAppendResult c = await(third);
        assertThat(b.position()).isEqualTo(a.nextPosition());
        assertThat(c.position()).isEqualTo(b.nextPosition());
        assertThat(wal.nextSequence()).as("one object for the first, one for the two that waited").isEqualTo(s + 2);
        ObjectStoreWal reopened = open();
        assertThat(recovered(reopened)).containsExactly(entry(a, "first"), entry(b, "second"), entry(c, "third"));
    }

    @Test
    void withEarlyFlushThePutThatLeavesNoneInFlightSendsWhatWaitedWithoutTheInterval() {
        ObjectStoreWal wal = open(options().earlyFlush(true).build());
        long s = wal.nextSequence();
        CompletableFuture<Void> release = storage.hold(key(s));
        CompletableFuture<WalAppendResult> first = wal.append(record("first"));
        CompletableFuture<WalAppendResult> second = wal.append(record("second"));
        CompletableFuture<WalAppendResult> third = wal.append(record("third"));
        assertThat(storage.putKeys).doesNotContain(key(s + 1));
        release.complete(null); // s completes with nothing else in flight: the waiting records go at once
        WalAppendResult c = await(third); // the scheduler never ran
        assertThat(storage.putKeys).contains(key(s + 1));
        assertThat(scheduler.pending()).as("the interval timer was cancelled").isZero();
        assertThat(wal.nextSequence()).isEqualTo(s + 2);
        ObjectStoreWal reopened = open();
        assertThat(recovered(reopened)).containsExactly(entry(await(first), "first"), entry(await(second), "second"),
                entry(c, "third"));
    }

    @Test
    void withoutEarlyFlushARecordWaitsForTheIntervalEvenWithNoPutInFlight() {
        ObjectStoreWal wal = open(options().earlyFlush(false).build());
        long s = wal.nextSequence();
        CompletableFuture<WalAppendResult> f = wal.append(record("waits"));
        assertThat(storage.putKeys).doesNotContain(key(s));
        assertThat(f).isNotDone();
        scheduler.runAll();
        await(f);
        assertThat(storage.putKeys).contains(key(s));
    }

    // ------------------------------------------------------------------ the interval counts from the last seal

    @Test
    void recordsAfterAQuietIntervalWaitOnlyTheGatherAndShareOneObject() {
        ObjectWalOptions options = options().earlyFlush(false).build();
        long interval = options.flushIntervalNanos();
        ObjectStoreWal wal = open(options);
        long s = wal.nextSequence();
        scheduler.advance(interval); // nothing sealed for a whole interval since the fence
        CompletableFuture<WalAppendResult> first = wal.append(record("after a pause"));
        CompletableFuture<WalAppendResult> second = wal.append(record("right after it"));
        assertThat(scheduler.delays()).as("a tenth of the interval, not the whole")
                .containsExactly(interval / ObjectStoreWal.GATHER_FRACTION);
        assertThat(storage.putKeys).doesNotContain(key(s));
        scheduler.runAll();
        WalAppendResult a = await(first);
        WalAppendResult b = await(second);
        assertThat(wal.nextSequence()).as("both in one object").isEqualTo(s + 1);
        ObjectStoreWal reopened = open();
        assertThat(recovered(reopened)).containsExactly(entry(a, "after a pause"), entry(b, "right after it"));
    }

    @Test
    void recordsSoonAfterASealWaitOnlyForTheRestOfTheInterval() {
        ObjectWalOptions options = options().earlyFlush(false).build();
        long interval = options.flushIntervalNanos();
        ObjectStoreWal wal = open(options);
        long s = wal.nextSequence();
        WalAppendResult first = await(appendAndFlushIfLast(wal, "first", true)); // sealed now, by flush()
        scheduler.advance(interval / 5);
        CompletableFuture<WalAppendResult> second = wal.append(record("second"));
        CompletableFuture<WalAppendResult> third = wal.append(record("third"));
        assertThat(second).isNotDone();
        assertThat(scheduler.pending()).isEqualTo(1);
        assertThat(scheduler.delays()).as("the timer fires one interval after the last seal")
                .last().isEqualTo(interval - interval / 5);
        scheduler.runAll();
        WalAppendResult b = await(second);
        WalAppendResult c = await(third);
        assertThat(wal.nextSequence()).as("one object for the first, one for the two that gathered").isEqualTo(s + 2);
        ObjectStoreWal reopened = open();
        assertThat(recovered(reopened)).containsExactly(entry(first, "first"), entry(b, "second"), entry(c, "third"));
    }

    @Test
    void aTrimAfterAQuietIntervalWaitsOnlyTheGather() {
        ObjectWalOptions options = options().earlyFlush(false).build();
        long interval = options.flushIntervalNanos();
        ObjectStoreWal wal = open(options);
        WalAppendResult a = await(appendAndFlushIfLast(wal, "a", true));
        WalAppendResult b = await(appendAndFlushIfLast(wal, "b", true));
        int before = scheduler.delays().size();
        scheduler.advance(interval);
        CompletableFuture<Void> trimmed = wal.trim(a.nextPosition());
        assertThat(scheduler.delays()).hasSize(before + 1).last().isEqualTo(interval / ObjectStoreWal.GATHER_FRACTION);
        scheduler.runAll();
        await(trimmed);
        assertThat(wal.used()).isEqualTo(wal.writePosition() - a.nextPosition());
        ObjectStoreWal reopened = open();
        assertThat(recovered(reopened)).containsExactly(entry(b, "b"));
    }

    // ------------------------------------------------------------------ fault injection

    @Test
    void aSlowPutHoldsBackTheAcknowledgementOfLaterObjects() throws InterruptedException {
        ObjectStoreWal wal = open();
        long s = wal.nextSequence();
        CompletableFuture<Void> release = storage.hold(key(s));
        CompletableFuture<WalAppendResult> slow = appendAndFlushIfLast(wal, "slow", true);
        CompletableFuture<WalAppendResult> fast = appendAndFlushIfLast(wal, "fast", true);
        await(storage.landed(key(s + 1))); // the later object is durable
        assertThat(slow).isNotDone();
        assertThat(fast).as("acknowledged only when every earlier object is durable").isNotDone();
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch bothRan = new CountDownLatch(2);
        slow.thenRun(() -> {
            order.add("slow");
            bothRan.countDown();
        });
        fast.thenRun(() -> {
            order.add("fast");
            bothRan.countDown();
        });
        release.complete(null);
        assertThat(bothRan.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue(); // not get(): see the first test
        assertThat(order).containsExactly("slow", "fast");
    }

    @Test
    void aRetriablePutFailureIsRetriedAndAcknowledgedOnce() {
        ObjectStoreWal wal = open();
        long s = wal.nextSequence();
        storage.fail(key(s), ObjectStorageException.Kind.TRANSIENT);
        CompletableFuture<WalAppendResult> f = appendAndFlushIfLast(wal, "retried", true);
        assertThat(f).isNotDone(); // the retry waits on the scheduler
        storage.heal(key(s));
        scheduler.runAll();
        WalAppendResult r = await(f);
        assertThat(storage.putKeys.stream().filter(key(s)::equals)).hasSize(2);
        ObjectStoreWal reopened = open();
        assertThat(recovered(reopened)).containsExactly(entry(r, "retried"));
    }

    @Test
    void aPutThatKeepsFailingFailsTheWalAndNothingUnacknowledgedIsRecovered() {
        ObjectStoreWal wal = open();
        WalAppendResult a = await(appendAndFlushIfLast(wal, "a", true));
        long s = wal.nextSequence();
        storage.fail(key(s), ObjectStorageException.Kind.TRANSIENT);
        CompletableFuture<WalAppendResult> b = appendAndFlushIfLast(wal, "b", true);    // s: fails 3 times
        CompletableFuture<WalAppendResult> c = appendAndFlushIfLast(wal, "c", true);    // s + 1: lands
        await(storage.landed(key(s + 1)));
        scheduler.runAll(); // retries, all failing
        assertThat(failure(b)).isInstanceOf(StorageException.class).isNotInstanceOf(StreamFencedException.class);
        assertThat(failure(c)).isInstanceOf(StorageException.class);
        assertThat(((StorageException) failure(b)).isRetriable()).isFalse();
        assertThat(failure(wal.append(record("d")))).isInstanceOf(StorageException.class);
        storage.heal(key(s));
        ObjectStoreWal reopened = open();
        assertThat(recovered(reopened)).as("c's object follows a gap: never acknowledged")
                .containsExactly(entry(a, "a"));
        WalAppendResult e = await(appendAndFlushIfLast(reopened, "e", true));
        ObjectStoreWal third = open();
        assertThat(recovered(third)).containsExactly(entry(a, "a"), entry(e, "e"));
    }

    @Test
    void aPutWhoseResponseWasLostIsRecognisedAsItsOwnObject() throws InterruptedException {
        ObjectStoreWal wal = open();
        long s = wal.nextSequence();
        storage.loseResponse(key(s));
        CompletableFuture<WalAppendResult> f = appendAndFlushIfLast(wal, "lost-response", true);
        scheduler.awaitTaskAndRunAll(); // the retry, scheduled when the lost response comes back: 412 on its own object
        WalAppendResult r = await(f);
        assertThat(wal.failure()).isNull();
        assertThat(storage.putKeys.stream().filter(key(s)::equals)).hasSize(2);
        WalAppendResult next = await(appendAndFlushIfLast(wal, "next", true));
        ObjectStoreWal reopened = open();
        assertThat(recovered(reopened)).containsExactly(entry(r, "lost-response"), entry(next, "next"));
    }

    @Test
    void aListingThatMissesTheNewestObjectsLosesNothing() {
        ObjectStoreWal wal = open();
        List<String> acked = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            acked.add(entry(await(appendAndFlushIfLast(wal, "n" + i, true)), "n" + i));
        }
        long last = wal.nextSequence() - 1;
        storage.hideFromListing(key(last));
        storage.hideFromListing(key(last - 1));
        storage.hideFromListing(key(last - 2)); // and one in the middle of what the listing shows
        storage.hideFromListing(key(last - 3)); // (the fence is still listed)
        ObjectStoreWal reopened = open();
        assertThat(reopened.fenceSequence()).isEqualTo(last + 1);
        assertThat(recovered(reopened)).containsExactlyElementsOf(acked);
    }

    @Test
    void aStaleWritersInFlightPutCollidesWithTheFenceAndIsNeverAcknowledged() {
        ObjectStoreWal old = open();
        WalAppendResult a = await(appendAndFlushIfLast(old, "a", true));
        long s = old.nextSequence();
        CompletableFuture<Void> release = storage.hold(key(s));
        CompletableFuture<WalAppendResult> x = appendAndFlushIfLast(old, "x", true);
        ObjectStoreWal taker = open(); // probes s: absent; writes its fence there
        assertThat(taker.fenceSequence()).isEqualTo(s);
        release.complete(null);
        assertThat(failure(x)).isInstanceOf(StreamFencedException.class);
        assertThat(recovered(taker)).containsExactly(entry(a, "a"));
    }

    @Test
    void aFenceThatLosesToAnOlderWritersAcknowledgedObjectExtendsTheChain() {
        ObjectStoreWal old = open();
        long s = old.nextSequence();
        CompletableFuture<Void> release = storage.hold(key(s));
        CompletableFuture<WalAppendResult> x = appendAndFlushIfLast(old, "x", true);
        // The taker finds s absent; just before its fence PUT, the old writer's PUT of s lands and is acked.
        storage.beforePut(key(s), k -> {
            release.complete(null);
            await(x);
        });
        ObjectStoreWal taker = open();
        assertThat(taker.fenceSequence()).isEqualTo(s + 1);
        assertThat(recovered(taker)).containsExactly(entry(await(x), "x"));
        CompletableFuture<WalAppendResult> y = appendAndFlushIfLast(old, "y", true);
        assertThat(failure(y)).isInstanceOf(StreamFencedException.class);
    }

    @Test
    void anOrphanOfAFencedWriterAboveTheFenceIsDeletedAndReplaced() {
        ObjectStoreWal old = open();
        WalAppendResult a = await(appendAndFlushIfLast(old, "a", true));
        long s = old.nextSequence();
        CompletableFuture<Void> release = storage.hold(key(s));
        CompletableFuture<WalAppendResult> x = appendAndFlushIfLast(old, "x", true); // s, held
        CompletableFuture<WalAppendResult> y = appendAndFlushIfLast(old, "y", true); // s + 1, lands
        await(storage.landed(key(s + 1)));
        storage.hideFromListing(key(s + 1)); // so the taker does not delete it at open
        ObjectStoreWal taker = open();
        assertThat(taker.fenceSequence()).isEqualTo(s);
        release.complete(null);
        assertThat(failure(x)).isInstanceOf(StreamFencedException.class);
        assertThat(failure(y)).isInstanceOf(StreamFencedException.class);
        WalAppendResult z = await(appendAndFlushIfLast(taker, "z", true)); // s + 1: collides with y's object
        assertThat(taker.failure()).isNull();
        ObjectStoreWal third = open();
        assertThat(recovered(third)).containsExactly(entry(a, "a"), entry(z, "z"));
    }

    @Test
    void anOlderEpochObjectAboveAFenceEndsTheChainAndIsReplacedByTheNextFence() {
        ObjectStoreWal old = open();
        WalAppendResult a = await(appendAndFlushIfLast(old, "a", true));
        long s = old.nextSequence();
        CompletableFuture<Void> release = storage.hold(key(s));
        CompletableFuture<WalAppendResult> x = appendAndFlushIfLast(old, "x", true); // s, held
        CompletableFuture<WalAppendResult> y = appendAndFlushIfLast(old, "y", true); // s + 1, lands
        await(storage.landed(key(s + 1)));
        storage.hideFromListing(key(s + 1));
        ObjectStoreWal taker = open(); // fence at s; does not see s + 1
        release.complete(null);
        assertThat(failure(x)).isInstanceOf(StreamFencedException.class);
        assertThat(failure(y)).isInstanceOf(StreamFencedException.class);
        // A third opener probes s + 1 (epoch 1 above the taker's epoch-2 fence): not part of the chain.
        ObjectStoreWal third = open();
        assertThat(third.fenceSequence()).isEqualTo(s + 1);
        assertThat(recovered(third)).containsExactly(entry(a, "a"));
        assertThat(third.nodeEpoch()).isGreaterThan(taker.nodeEpoch());
    }

    @Test
    void aLiveWriterThatTrimsAndDeletesWhileATakerLooksForTheLogLosesNothing() {
        ObjectStoreWal old = open();
        WalAppendResult a = await(appendAndFlushIfLast(old, "a", true));
        WalAppendResult b = await(appendAndFlushIfLast(old, "b", true));
        long top = old.nextSequence() - 1;
        WalAppendResult[] x = new WalAppendResult[1];
        // When the taker reads the newest object's header, the old writer moves on: a new object,
        // then a trim whose deletes remove objects the taker is about to read.
        storage.beforeGet(key(top), k -> {
            x[0] = await(appendAndFlushIfLast(old, "x", true));
            CompletableFuture<Void> trimmed = old.trim(a.nextPosition());
            scheduler.runAll();
            await(trimmed);
            old.close(); // waits for the deletes
        });
        ObjectStoreWal taker = open();
        assertThat(recovered(taker)).containsExactly(entry(b, "b"), entry(x[0], "x"));
    }

    @Test
    void closeWaitsForSealedObjectsAndFlushesWaitingRecords() {
        ObjectStoreWal wal = open();
        CompletableFuture<WalAppendResult> f = wal.append(record("at-close"));
        wal.close();
        assertThat(f).isCompleted();
        ObjectStoreWal reopened = open();
        assertThat(recovered(reopened)).containsExactly(entry(await(f), "at-close"));
        assertThat(Arrays.asList(reopened.backend())).containsExactly("objectstore");
    }

    @Test
    void appendAfterFailureIsRefusedAndAwaitRoomReturnsAtOnce() throws InterruptedException {
        ObjectStoreWal first = open();
        open(); // fences the first
        CompletableFuture<WalAppendResult> f = appendAndFlushIfLast(first, "fenced", true);
        assertThat(failure(f)).isInstanceOf(StreamFencedException.class);
        assertThat(first.awaitRoom(10, TimeUnit.DAYS.toNanos(1))).isTrue();
        assertThatThrownBy(() -> first.trim(first.writePosition() + 1)).isInstanceOf(IllegalArgumentException.class);
    }
}
