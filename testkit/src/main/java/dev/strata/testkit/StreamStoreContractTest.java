package dev.strata.testkit;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.AppendResult;
import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.OffsetOutOfRangeException;
import dev.strata.api.RecordBatch;
import dev.strata.api.RecordTooLargeException;
import dev.strata.api.Stream;
import dev.strata.api.StreamClosedException;
import dev.strata.api.StreamFilter;
import dev.strata.api.StreamInfo;
import dev.strata.api.StreamLabels;
import dev.strata.api.StreamFencedException;
import dev.strata.api.StreamNotFoundException;
import dev.strata.api.StreamOptions;
import dev.strata.api.StreamStore;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReferenceArray;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The {@link StreamStore} contract (docs/design.md, Semantics) as an abstract test suite. Any
 * implementation, including a broker's own, runs it by extending this class:
 *
 * <pre>{@code
 * class MyStoreContractTest extends StreamStoreContractTest {
 *     protected StreamStore createStore() { return new MyStore(...); }
 *     protected int maxBatchBytes() { return MyStore.MAX_BATCH_BYTES; }
 *     protected StreamStore restart(StreamStore store) { store.close(); return new MyStore(sameStorage); }
 * }
 * }</pre>
 *
 * <p>Covers offset assignment, in-order completion under concurrent appends, fetch boundaries,
 * trim, epoch fencing, close and delete, and restart (every acknowledged batch, start offset and
 * epoch survive {@link #restart}). A jqwik property checks random append/fetch/trim sequences
 * against {@link StreamModel}.
 *
 * <p>Every fetch result is closed, so implementations on pooled buffers are checked for leaks by
 * the Netty leak check of the test run.
 */
public abstract class StreamStoreContractTest {

    /** Returns a new, empty store on its own storage. Called once per test and once per property try. */
    protected abstract StreamStore createStore() throws Exception;

    /** The largest batch payload, in bytes, the store accepts; one byte more must be refused. */
    protected abstract int maxBatchBytes();

    /**
     * Closes {@code store} and opens a new store on the same storage, as a process restart would.
     * The default skips the restart tests (for in-memory stores).
     */
    protected StreamStore restart(StreamStore store) throws Exception {
        Assumptions.abort("restart not supported by this store");
        return store;
    }

    protected StreamStore store;

    @BeforeEach
    public void openStore() throws Exception {
        store = createStore();
    }

    @AfterEach
    public void closeStore() {
        if (store != null) {
            store.close();
        }
    }

    // ---- helpers -------------------------------------------------------------------------------

    /** Deterministic payload bytes for a (seed, size). */
    protected static byte[] bytes(long seed, int size) {
        byte[] b = new byte[size];
        long x = seed * 0x9E3779B97F4A7C15L + 1;
        for (int i = 0; i < size; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b[i] = (byte) x;
        }
        return b;
    }

    protected static byte[] toArray(ByteBuffer buffer) {
        ByteBuffer dup = buffer.duplicate();
        byte[] out = new byte[dup.remaining()];
        dup.get(out);
        return out;
    }

    protected Stream create() {
        return await(store.createStream(StreamOptions.defaults()));
    }

    protected static long append(Stream stream, int count, byte[] payload) {
        return await(stream.append(RecordBatch.of(count, ByteBuffer.wrap(payload)))).baseOffset();
    }

    /** Fetches and copies the batches out, closing the result. */
    protected static List<StreamModel.Batch> fetch(Stream stream, long start, long end, int maxBytes) {
        try (FetchResult result = await(stream.fetch(start, end, maxBytes))) {
            List<StreamModel.Batch> out = new ArrayList<>();
            for (FetchedBatch b : result.batches()) {
                out.add(new StreamModel.Batch(b.baseOffset(), b.count(), b.baseTimestamp(), toArray(b.payload())));
            }
            return out;
        }
    }

    /** Asserts that fetched batches equal the model's, field by field and byte by byte. */
    protected static void assertSameBatches(List<StreamModel.Batch> actual, List<StreamModel.Batch> expected) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.size(); i++) {
            StreamModel.Batch a = actual.get(i);
            StreamModel.Batch e = expected.get(i);
            assertThat(a.baseOffset()).as("baseOffset of batch %d", i).isEqualTo(e.baseOffset());
            assertThat(a.count()).as("count of batch %d", i).isEqualTo(e.count());
            assertThat(a.baseTimestamp()).as("baseTimestamp of batch %d", i).isEqualTo(e.baseTimestamp());
            assertThat(a.payload()).as("payload of batch %d at offset %d", i, e.baseOffset()).isEqualTo(e.payload());
        }
    }

    /** The failure a future completes with (unwrapped); an {@link AssertionError} if it succeeds. */
    protected static Throwable failureOf(CompletableFuture<?> future) {
        try {
            await(future);
        } catch (RuntimeException | Error e) {
            return e;
        }
        throw new AssertionError("expected the future to fail, but it completed normally");
    }

    // ---- offsets -------------------------------------------------------------------------------

    @Test
    public void newStreamIsEmptyAndHasRequestedEpoch() {
        Stream s = await(store.createStream(StreamOptions.defaults().withEpoch(7)));
        assertThat(s.epoch()).isEqualTo(7);
        assertThat(s.startOffset()).isZero();
        assertThat(s.nextOffset()).isZero();
        assertThat(fetch(s, 0, Long.MAX_VALUE, 1 << 20)).isEmpty();
    }

    @Test
    public void idsStartAtOneInAnEmptyStoreIncreaseAndAreNeverReused() {
        Stream a = create();
        Stream b = create();
        await(store.deleteStream(b.id(), 0));
        Stream c = create();
        assertThat(List.of(a.id(), b.id(), c.id())).containsExactly(1L, 2L, 3L);
    }

    @Test
    public void appendAssignsContiguousOffsets() {
        Stream s = create();
        assertThat(append(s, 1, bytes(1, 10))).isEqualTo(0);
        assertThat(append(s, 5, bytes(2, 10))).isEqualTo(1);
        assertThat(append(s, 3, bytes(3, 10))).isEqualTo(6);
        assertThat(s.nextOffset()).isEqualTo(9);
    }

    @Test
    public void fetchReturnsAppendedBytesTimestampsAndCounts() {
        Stream s = create();
        StreamModel model = new StreamModel();
        for (int i = 0; i < 20; i++) {
            byte[] p = bytes(i, 1 + i * 37);
            long ts = 1_700_000_000_000L + i;
            long base = await(s.append(RecordBatch.of(1 + i % 4, ts, ByteBuffer.wrap(p)))).baseOffset();
            assertThat(base).isEqualTo(model.append(1 + i % 4, ts, p));
        }
        assertSameBatches(fetch(s, 0, Long.MAX_VALUE, Integer.MAX_VALUE), model.live());
    }

    @Test
    public void emptyPayloadIsStoredAndReturned() {
        Stream s = create();
        assertThat(append(s, 2, new byte[0])).isZero();
        List<StreamModel.Batch> got = fetch(s, 0, Long.MAX_VALUE, 100);
        assertThat(got).hasSize(1);
        assertThat(got.get(0).payload()).isEmpty();
        assertThat(got.get(0).count()).isEqualTo(2);
    }

    @Test
    public void callerMayReuseBufferOnceAppendCompleted() {
        Stream s = create();
        byte[] original = bytes(9, 64);
        ByteBuffer buf = ByteBuffer.wrap(original.clone());
        await(s.append(RecordBatch.of(1, buf)));
        buf.clear();
        buf.put(new byte[64]); // overwrite the caller's buffer
        assertThat(fetch(s, 0, 1, 1000).get(0).payload()).isEqualTo(original);
    }

    @Test
    public void payloadViewOfBatchStartsAtBufferPosition() {
        Stream s = create();
        ByteBuffer buf = ByteBuffer.wrap(new byte[] {9, 9, 1, 2, 3, 9});
        buf.position(2).limit(5);
        await(s.append(RecordBatch.of(1, buf)));
        assertThat(fetch(s, 0, 1, 1000).get(0).payload()).containsExactly(1, 2, 3);
    }

    // ---- completion order ----------------------------------------------------------------------

    @Test
    public void pipelinedAppendsCompleteInOffsetOrder() {
        Stream s = create();
        int n = 500;
        AtomicReferenceArray<CompletableFuture<AppendResult>> futures = new AtomicReferenceArray<>(n);
        ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        for (int i = 0; i < n; i++) {
            int index = i;
            CompletableFuture<AppendResult> f = s.append(RecordBatch.of(1, ByteBuffer.wrap(bytes(i, 100))));
            futures.set(i, f);
            f.whenComplete((r, e) -> {
                for (int j = 0; j < index; j++) {
                    if (!futures.get(j).isDone()) {
                        violations.add("append " + index + " completed before append " + j);
                    }
                }
            });
        }
        for (int i = 0; i < n; i++) {
            assertThat(await(futures.get(i)).baseOffset()).isEqualTo(i);
        }
        assertThat(violations).isEmpty();
        assertThat(s.nextOffset()).isEqualTo(n);
    }

    /**
     * Appends from many threads tile the offsets without gaps or overlaps, and when an append
     * completes, no append that was still pending at that moment ends up with a lower offset.
     */
    @Test
    public void concurrentAppendersGetContiguousOffsetsCompletedInOrder() throws Exception {
        Stream s = create();
        int threads = 8;
        int perThread = 100;
        record PendingAtCompletion(long base, List<CompletableFuture<AppendResult>> pending) {
        }
        ConcurrentLinkedQueue<CompletableFuture<AppendResult>> all = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<PendingAtCompletion> checks = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<long[]> ranges = new ConcurrentLinkedQueue<>();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    start.await();
                    List<CompletableFuture<Void>> mine = new ArrayList<>();
                    for (int i = 0; i < perThread; i++) {
                        int count = 1 + (thread + i) % 3;
                        CompletableFuture<AppendResult> f =
                                s.append(RecordBatch.of(count, ByteBuffer.wrap(bytes(thread * 1000L + i, 50))));
                        all.add(f);
                        // wait for the recording stage, not only the append: the waiter can wake before it ran
                        mine.add(f.thenAccept(r -> {
                            ranges.add(new long[] {r.baseOffset(), count});
                            List<CompletableFuture<AppendResult>> pending = new ArrayList<>();
                            for (CompletableFuture<AppendResult> other : all) {
                                if (!other.isDone()) {
                                    pending.add(other);
                                }
                            }
                            checks.add(new PendingAtCompletion(r.baseOffset(), pending));
                        }));
                    }
                    for (CompletableFuture<Void> f : mine) {
                        await(f);
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        List<long[]> sorted = new ArrayList<>(ranges);
        sorted.sort((a, b) -> Long.compare(a[0], b[0]));
        long expected = 0;
        for (long[] r : sorted) {
            assertThat(r[0]).as("offsets must tile without gaps or overlaps").isEqualTo(expected);
            expected += r[1];
        }
        assertThat(sorted).hasSize(threads * perThread);
        assertThat(s.nextOffset()).isEqualTo(expected);
        for (PendingAtCompletion check : checks) {
            for (CompletableFuture<AppendResult> p : check.pending()) {
                assertThat(await(p).baseOffset())
                        .as("an append still pending when base %d completed", check.base())
                        .isGreaterThan(check.base());
            }
        }
    }

    // ---- fetch boundaries ----------------------------------------------------------------------

    @Test
    public void fetchFromInsideBatchReturnsWholeBatchContainingStart() {
        Stream s = create();
        append(s, 5, bytes(1, 10)); // [0,5)
        append(s, 5, bytes(2, 10)); // [5,10)
        List<StreamModel.Batch> got = fetch(s, 7, Long.MAX_VALUE, 1 << 20);
        assertThat(got).extracting(StreamModel.Batch::baseOffset).containsExactly(5L);
        assertThat(got.get(0).payload()).isEqualTo(bytes(2, 10));
    }

    @Test
    public void fetchReturnsOneBatchEvenWhenItExceedsMaxBytes() {
        Stream s = create();
        append(s, 1, bytes(1, 1000));
        append(s, 1, bytes(2, 1000));
        assertThat(fetch(s, 0, Long.MAX_VALUE, 1)).extracting(StreamModel.Batch::baseOffset).containsExactly(0L);
        assertThat(fetch(s, 0, Long.MAX_VALUE, 0)).extracting(StreamModel.Batch::baseOffset).containsExactly(0L);
    }

    @Test
    public void fetchStopsBeforeExceedingMaxBytes() {
        Stream s = create();
        for (int i = 0; i < 10; i++) {
            append(s, 1, bytes(i, 100));
        }
        assertThat(fetch(s, 0, Long.MAX_VALUE, 350)).extracting(StreamModel.Batch::baseOffset).containsExactly(0L, 1L, 2L);
        assertThat(fetch(s, 4, Long.MAX_VALUE, 300)).extracting(StreamModel.Batch::baseOffset).containsExactly(4L, 5L, 6L);
    }

    @Test
    public void fetchReturnsOnlyBatchesOverlappingRange() {
        Stream s = create();
        append(s, 5, bytes(1, 10)); // [0,5)
        append(s, 5, bytes(2, 10)); // [5,10)
        append(s, 5, bytes(3, 10)); // [10,15)
        assertThat(fetch(s, 0, 7, 1 << 20)).extracting(StreamModel.Batch::baseOffset).containsExactly(0L, 5L);
        assertThat(fetch(s, 3, 5, 1 << 20)).extracting(StreamModel.Batch::baseOffset).containsExactly(0L);
        assertThat(fetch(s, 6, 6, 1 << 20)).isEmpty();
    }

    @Test
    public void fetchAtNextOffsetReturnsEmptyResult() {
        Stream s = create();
        append(s, 3, bytes(1, 10));
        assertThat(fetch(s, 3, Long.MAX_VALUE, 1 << 20)).isEmpty();
    }

    @Test
    public void fetchBeyondNextOffsetFailsWithOffsetOutOfRange() {
        Stream s = create();
        append(s, 3, bytes(1, 10));
        assertThat(failureOf(s.fetch(4, Long.MAX_VALUE, 100)))
                .isInstanceOf(OffsetOutOfRangeException.class)
                .satisfies(e -> assertThat(((OffsetOutOfRangeException) e).nextOffset()).isEqualTo(3));
    }

    @Test
    public void fetchRejectsInvalidArguments() {
        Stream s = create();
        append(s, 3, bytes(1, 10));
        assertThatThrownBy(() -> s.fetch(2, 1, 100)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.fetch(-1, 1, 100)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.fetch(0, 1, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    // ---- trim ----------------------------------------------------------------------------------

    @Test
    public void trimMovesStartOffsetAndHidesDataBelowIt() {
        Stream s = create();
        append(s, 5, bytes(1, 10)); // [0,5)
        append(s, 5, bytes(2, 10)); // [5,10)
        await(s.trim(7));
        assertThat(s.startOffset()).isEqualTo(7);
        assertThat(failureOf(s.fetch(6, Long.MAX_VALUE, 100))).isInstanceOf(OffsetOutOfRangeException.class);
        assertThat(failureOf(s.fetch(0, Long.MAX_VALUE, 100))).isInstanceOf(OffsetOutOfRangeException.class);
        // The batch containing the start offset is still returned whole.
        assertThat(fetch(s, 7, Long.MAX_VALUE, 100)).extracting(StreamModel.Batch::baseOffset).containsExactly(5L);
    }

    @Test
    public void trimBelowStartOffsetChangesNothing() {
        Stream s = create();
        append(s, 10, bytes(1, 10));
        await(s.trim(6));
        await(s.trim(2));
        assertThat(s.startOffset()).isEqualTo(6);
    }

    @Test
    public void trimBeyondNextOffsetFailsWithOffsetOutOfRange() {
        Stream s = create();
        append(s, 3, bytes(1, 10));
        assertThat(failureOf(s.trim(4))).isInstanceOf(OffsetOutOfRangeException.class);
        assertThat(s.startOffset()).isZero();
        assertThatThrownBy(() -> s.trim(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    public void trimToEndLeavesEmptyStreamThatKeepsAppending() {
        Stream s = create();
        append(s, 4, bytes(1, 10));
        await(s.trim(4));
        assertThat(fetch(s, 4, Long.MAX_VALUE, 100)).isEmpty();
        assertThat(append(s, 2, bytes(2, 10))).isEqualTo(4);
        assertThat(fetch(s, 4, Long.MAX_VALUE, 100)).extracting(StreamModel.Batch::baseOffset).containsExactly(4L);
    }

    // ---- epochs and fencing --------------------------------------------------------------------

    @Test
    public void openWithHigherEpochFencesPreviousHolder() {
        Stream old = create();
        append(old, 3, bytes(1, 10));
        Stream next = await(store.openStream(old.id(), 1));
        assertThat(next.epoch()).isEqualTo(1);
        assertThat(next.nextOffset()).isEqualTo(3);

        assertThat(failureOf(old.append(RecordBatch.of(1, ByteBuffer.wrap(bytes(2, 10))))))
                .isInstanceOf(StreamFencedException.class);
        assertThat(failureOf(old.trim(1))).isInstanceOf(StreamFencedException.class);

        // Nothing the fenced holder tried became visible; the new holder continues the offsets.
        assertThat(next.nextOffset()).isEqualTo(3);
        assertThat(append(next, 1, bytes(3, 10))).isEqualTo(3);
        assertThat(fetch(next, 0, Long.MAX_VALUE, 1 << 20)).extracting(StreamModel.Batch::baseOffset).containsExactly(0L, 3L);
    }

    @Test
    public void openWithLowerEpochFailsWithFencedException() {
        Stream s = await(store.createStream(StreamOptions.defaults().withEpoch(5)));
        await(s.close());
        assertThat(failureOf(store.openStream(s.id(), 4))).isInstanceOf(StreamFencedException.class);
    }

    @Test
    public void openWithSameEpochWhileHeldFailsWithFencedException() {
        Stream s = await(store.createStream(StreamOptions.defaults().withEpoch(2)));
        assertThat(failureOf(store.openStream(s.id(), 2))).isInstanceOf(StreamFencedException.class);
        assertThat(append(s, 1, bytes(1, 5))).as("the live holder is unaffected").isZero();
    }

    @Test
    public void reopenWithSameEpochAfterCloseSeesAllData() {
        Stream s = await(store.createStream(StreamOptions.defaults().withEpoch(2)));
        append(s, 3, bytes(1, 10));
        await(s.trim(1));
        await(s.close());
        Stream again = await(store.openStream(s.id(), 2));
        assertThat(again.startOffset()).isEqualTo(1);
        assertThat(again.nextOffset()).isEqualTo(3);
        assertThat(append(again, 1, bytes(2, 10))).isEqualTo(3);
    }

    @Test
    public void openUnknownStreamFailsWithNotFound() {
        assertThat(failureOf(store.openStream(987_654_321L, 0))).isInstanceOf(StreamNotFoundException.class);
        assertThatThrownBy(() -> store.openStream(1, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    // ---- close and delete ----------------------------------------------------------------------

    @Test
    public void closedStreamRefusesOperations() {
        Stream s = create();
        append(s, 1, bytes(1, 10));
        await(s.close());
        await(s.close()); // idempotent
        assertThat(failureOf(s.append(RecordBatch.of(1, ByteBuffer.wrap(bytes(2, 10)))))).isInstanceOf(StreamClosedException.class);
        assertThat(failureOf(s.fetch(0, 1, 100))).isInstanceOf(StreamClosedException.class);
        assertThat(failureOf(s.trim(1))).isInstanceOf(StreamClosedException.class);
    }

    @Test
    public void deletedStreamCannotBeOpenedAndItsHandleFails() {
        Stream s = await(store.createStream(StreamOptions.defaults().withEpoch(1)));
        append(s, 1, bytes(1, 10));
        await(store.deleteStream(s.id(), 1));
        assertThat(failureOf(store.openStream(s.id(), 1))).isInstanceOf(StreamNotFoundException.class);
        assertThat(failureOf(s.append(RecordBatch.of(1, ByteBuffer.wrap(bytes(2, 10)))))).isInstanceOf(StreamNotFoundException.class);
        assertThat(failureOf(store.deleteStream(s.id(), 1))).isInstanceOf(StreamNotFoundException.class);
    }

    @Test
    public void deleteWithLowerEpochFailsWithFencedException() {
        Stream s = await(store.createStream(StreamOptions.defaults().withEpoch(3)));
        assertThat(failureOf(store.deleteStream(s.id(), 2))).isInstanceOf(StreamFencedException.class);
        assertThat(append(s, 1, bytes(1, 10))).as("stream still usable").isZero();
    }

    @Test
    public void closingStoreClosesStreamsAndRefusesCalls() {
        Stream s = create();
        append(s, 1, bytes(1, 10));
        store.close();
        store.close(); // idempotent
        assertThat(failureOf(s.append(RecordBatch.of(1, ByteBuffer.wrap(bytes(2, 10)))))).isInstanceOf(StreamClosedException.class);
        assertThat(failureOf(store.createStream(StreamOptions.defaults()))).isInstanceOf(StreamClosedException.class);
        assertThat(failureOf(store.openStream(s.id(), 0))).isInstanceOf(StreamClosedException.class);
    }

    // ---- bad input -----------------------------------------------------------------------------

    @Test
    public void batchLargerThanMaximumFailsAndStreamContinues() {
        Stream s = create();
        append(s, 1, bytes(1, 10));
        assertThat(failureOf(s.append(RecordBatch.of(1, ByteBuffer.allocate(maxBatchBytes() + 1)))))
                .isInstanceOf(RecordTooLargeException.class);
        assertThat(append(s, 1, bytes(2, 10))).isEqualTo(1);
    }

    @Test
    public void batchOfMaximumSizeIsAccepted() {
        Stream s = create();
        byte[] big = bytes(3, maxBatchBytes());
        assertThat(append(s, 1, big)).isZero();
        assertThat(fetch(s, 0, 1, 1).get(0).payload()).isEqualTo(big);
    }

    @Test
    public void invalidArgumentsFailFast() {
        Stream s = create();
        assertThatThrownBy(() -> RecordBatch.of(0, ByteBuffer.allocate(1))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RecordBatch.of(-1, ByteBuffer.allocate(1))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RecordBatch.of(1, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.append(null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.createStream(null)).isInstanceOf(IllegalArgumentException.class);
    }

    // ---- tenants, tags and listing -------------------------------------------------------------

    @Test
    public void streamsAreListedWithTheirTenantAndTagsInIdOrder() {
        Stream plain = create();
        Stream a1 = await(store.createStream(StreamOptions.defaults().withTenant("acme").withTag("line", "press-7")));
        Stream a2 = await(store.createStream(StreamOptions.defaults().withEpoch(4).withTenant("acme")
                .withTag("line", "press-9").withTag("site", "lyon")));
        Stream b1 = await(store.createStream(StreamOptions.defaults().withTenant("globex").withTag("line", "press-7")));
        append(a1, 3, bytes(1, 20));
        append(a1, 2, bytes(2, 20));

        List<StreamInfo> all = await(store.listStreams(StreamFilter.all()));
        assertThat(all).extracting(StreamInfo::streamId).containsExactly(plain.id(), a1.id(), a2.id(), b1.id());
        StreamInfo first = all.get(1);
        assertThat(first.labels().tenant()).contains("acme");
        assertThat(first.labels().tags()).containsExactly(java.util.Map.entry("line", "press-7"));
        assertThat(first.endOffset()).as("acknowledged end").isEqualTo(5);
        assertThat(first.startOffset()).isZero();
        assertThat(all.get(2).epoch()).isEqualTo(4);
        assertThat(all.get(0).labels()).isEqualTo(StreamLabels.NONE);

        assertThat(await(store.listStreams(StreamFilter.tenant("acme")))).extracting(StreamInfo::streamId)
                .containsExactly(a1.id(), a2.id());
        assertThat(await(store.listStreams(StreamFilter.all().withTag("line", "press-7")))).extracting(StreamInfo::streamId)
                .containsExactly(a1.id(), b1.id());
        assertThat(await(store.listStreams(StreamFilter.tenant("acme").withTag("site", "lyon"))))
                .extracting(StreamInfo::streamId).containsExactly(a2.id());
        assertThat(await(store.listStreams(StreamFilter.tenant("initech")))).isEmpty();

        await(store.deleteStream(a2.id(), 4));
        assertThat(await(store.listStreams(StreamFilter.tenant("acme")))).as("deleted streams are not listed")
                .extracting(StreamInfo::streamId).containsExactly(a1.id());
    }

    @Test
    public void invalidLabelsAreRefusedBeforeAnythingIsCreated() {
        assertThatThrownBy(() -> StreamOptions.defaults().withTenant("no spaces")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tenant");
        assertThatThrownBy(() -> StreamOptions.defaults().withTag("", "v")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tag key");
        assertThatThrownBy(() -> StreamOptions.defaults().withTag("k", "x".repeat(StreamLabels.MAX_VALUE_BYTES + 1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("value");
        assertThatThrownBy(() -> store.listStreams(null)).isInstanceOf(IllegalArgumentException.class);
        assertThat(await(store.listStreams(StreamFilter.all()))).isEmpty();
    }

    @Test
    public void listingAClosedStoreFails() {
        store.close();
        assertThat(failureOf(store.listStreams(StreamFilter.all()))).isInstanceOf(StreamClosedException.class);
    }

    // ---- restart -------------------------------------------------------------------------------

    @Test
    public void restartPreservesAcknowledgedDataOffsetsAndTrim() throws Exception {
        List<Stream> streams = new ArrayList<>();
        List<StreamModel> models = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Stream s = await(store.createStream(StreamOptions.defaults().withEpoch(i)));
            StreamModel m = new StreamModel();
            for (int j = 0; j < 30; j++) {
                byte[] p = bytes(i * 100L + j, 10 + j * 13);
                int count = 1 + j % 3;
                long ts = i * 1000L + j;
                assertThat(await(s.append(RecordBatch.of(count, ts, ByteBuffer.wrap(p)))).baseOffset())
                        .isEqualTo(m.append(count, ts, p));
            }
            streams.add(s);
            models.add(m);
        }
        await(streams.get(2).trim(10));
        models.get(2).trim(10);

        store = restart(store);

        for (int i = 0; i < streams.size(); i++) {
            Stream s = await(store.openStream(streams.get(i).id(), i));
            StreamModel m = models.get(i);
            assertThat(s.startOffset()).as("startOffset of stream %d", i).isEqualTo(m.startOffset());
            assertThat(s.nextOffset()).as("nextOffset of stream %d", i).isEqualTo(m.nextOffset());
            assertSameBatches(fetch(s, m.startOffset(), Long.MAX_VALUE, Integer.MAX_VALUE), m.live());
            assertThat(append(s, 1, bytes(5, 5))).isEqualTo(m.nextOffset());
        }
    }

    @Test
    public void restartPreservesEpochsAndDeletions() throws Exception {
        Stream kept = await(store.createStream(StreamOptions.defaults().withEpoch(3)));
        append(kept, 1, bytes(1, 10));
        Stream gone = await(store.createStream(StreamOptions.defaults()));
        append(gone, 1, bytes(2, 10));
        await(store.deleteStream(gone.id(), 0));

        store = restart(store);

        assertThat(failureOf(store.openStream(kept.id(), 2))).isInstanceOf(StreamFencedException.class);
        assertThat(await(store.openStream(kept.id(), 3)).nextOffset()).isEqualTo(1);
        assertThat(failureOf(store.openStream(gone.id(), 0))).isInstanceOf(StreamNotFoundException.class);
        Stream fresh = create();
        assertThat(fresh.id()).as("ids are not reused, also not the deleted newest").isEqualTo(gone.id() + 1);
    }

    @Test
    public void restartPreservesTenantsAndTags() throws Exception {
        Stream tagged = await(store.createStream(StreamOptions.defaults().withTenant("acme").withTag("line", "press-7")
                .withTag("unicode", "Gr\u00fc\u00dfe")));
        append(tagged, 2, bytes(1, 10));
        Stream plain = create();

        store = restart(store);

        List<StreamInfo> all = await(store.listStreams(StreamFilter.all()));
        assertThat(all).extracting(StreamInfo::streamId).containsExactly(tagged.id(), plain.id());
        assertThat(all.get(0).labels()).isEqualTo(new StreamLabels(java.util.Optional.of("acme"),
                java.util.Map.of("line", "press-7", "unicode", "Gr\u00fc\u00dfe")));
        assertThat(all.get(0).endOffset()).isEqualTo(2);
        assertThat(all.get(1).labels()).isEqualTo(StreamLabels.NONE);
        assertThat(await(store.listStreams(StreamFilter.tenant("acme")))).extracting(StreamInfo::streamId)
                .containsExactly(tagged.id());
    }

    // ---- model-based property ------------------------------------------------------------------

    /** One step of a random history. */
    public sealed interface Op permits Append, Fetch, Trim {
    }

    public record Append(int count, int size, long timestamp) implements Op {
    }

    /** start = startOffset + fraction * (nextOffset - startOffset); end likewise above start. */
    public record Fetch(double startFraction, double endFraction, int maxBytes) implements Op {
    }

    public record Trim(double fraction) implements Op {
    }

    @Provide
    public Arbitrary<Op> ops() {
        Arbitrary<Op> append = net.jqwik.api.Combinators.combine(
                        Arbitraries.integers().between(1, 5),
                        Arbitraries.integers().between(0, 600),
                        Arbitraries.longs().between(0, 1L << 40))
                .as(Append::new);
        Arbitrary<Op> fetch = net.jqwik.api.Combinators.combine(
                        Arbitraries.doubles().between(0, 1),
                        Arbitraries.doubles().between(0, 1.2),
                        Arbitraries.integers().between(0, 2000))
                .as(Fetch::new);
        Arbitrary<Op> trim = Arbitraries.doubles().between(0, 1).map(Trim::new);
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(5, append), net.jqwik.api.Tuple.of(4, fetch), net.jqwik.api.Tuple.of(1, trim));
    }

    @Property(tries = 60)
    public void randomAppendFetchTrimHistoriesMatchModel(@ForAll @Size(max = 60) List<@net.jqwik.api.From("ops") Op> history)
            throws Exception {
        try (StreamStore s = createStore()) {
            Stream stream = await(s.createStream(StreamOptions.defaults()));
            StreamModel model = new StreamModel();
            for (Op op : history) {
                if (op instanceof Append a) {
                    byte[] p = bytes(a.timestamp(), a.size());
                    long base = await(stream.append(RecordBatch.of(a.count(), a.timestamp(), ByteBuffer.wrap(p)))).baseOffset();
                    assertThat(base).isEqualTo(model.append(a.count(), a.timestamp(), p));
                } else if (op instanceof Fetch f) {
                    long span = model.nextOffset() - model.startOffset();
                    long start = model.startOffset() + (long) Math.floor(f.startFraction() * span);
                    long end = start + (long) Math.floor(f.endFraction() * (model.nextOffset() - start + 1));
                    assertSameBatches(fetch(stream, start, end, f.maxBytes()), model.fetch(start, end, f.maxBytes()));
                } else if (op instanceof Trim t) {
                    long target = model.startOffset()
                            + (long) Math.floor(t.fraction() * (model.nextOffset() - model.startOffset()));
                    await(stream.trim(target));
                    model.trim(target);
                }
                assertThat(stream.startOffset()).isEqualTo(model.startOffset());
                assertThat(stream.nextOffset()).isEqualTo(model.nextOffset());
            }
            if (model.startOffset() > 0) {
                assertThat(failureOf(stream.fetch(model.startOffset() - 1, Long.MAX_VALUE, 100)))
                        .isInstanceOf(OffsetOutOfRangeException.class);
            }
            assertSameBatches(fetch(stream, model.startOffset(), Long.MAX_VALUE, Integer.MAX_VALUE), model.live());
        }
    }
}
