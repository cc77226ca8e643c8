package dev.strata.core.metadata;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.StreamFencedException;
import dev.strata.api.StreamNotFoundException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Rules every {@link MetadataStore} obeys, as an abstract test suite (the MetadataStore contract kit,
 * in strata-core's test-jar); run here against {@link InMemoryMetadataStore} and
 * {@link ManifestMetadataStore}. An implementation of the SPI elsewhere, such as a broker's own, runs it
 * by extending this class (with {@code strata-core}'s {@code test-jar} and {@code strata-testkit} at
 * test scope):
 *
 * <pre>{@code
 * class MyMetadataStoreContractTest extends MetadataStoreContractTest {
 *     protected MetadataStore newStore() { return new MyMetadataStore(...); }
 * }
 * }</pre>
 *
 * <p>{@link #newStore()} is called before each test; the suite registers a node on the new store and
 * closes it after the test.
 */
public abstract class MetadataStoreContractTest {

    protected MetadataStore store;

    /** A new, empty store on its own storage. */
    protected abstract MetadataStore newStore() throws Exception;

    @BeforeEach
    protected void open() throws Exception {
        store = newStore();
        await(store.registerNode());
    }

    @AfterEach
    protected void close() {
        store.close();
    }

    /** A stream-set object {@code key} of 1000 bytes holding {@code ranges}. */
    protected static ObjectMetadata sso(String key, StreamRange... ranges) {
        return new ObjectMetadata(key, 1000, ObjectType.STREAM_SET, List.of(ranges), 0);
    }

    @Test
    void registerNodeRaisesNodeEpochEachTime() {
        long first = store.nodeEpoch();
        assertThat(first).isPositive();
        assertThat(await(store.registerNode())).isEqualTo(first + 1);
        assertThat(store.nodeEpoch()).isEqualTo(first + 1);
    }

    @Test
    void createdStreamsGetIncreasingIdsEpochAndZeroOffsets() {
        StreamMetadata a = await(store.createStream(3));
        StreamMetadata b = await(store.createStream(0));
        assertThat(b.streamId()).isEqualTo(a.streamId() + 1);
        assertThat(a).isEqualTo(new StreamMetadata(a.streamId(), 3, 0, 0));
        assertThat(store.stream(a.streamId())).contains(a);
    }

    /** Changes called from many threads at once: each caller gets its own result, ids are unique and contiguous. */
    @Test
    void concurrentCallersEachGetTheirOwnResult() throws Exception {
        int threads = 4;
        int perThread = 250;
        List<List<CompletableFuture<StreamMetadata>>> created = new ArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> callers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            List<CompletableFuture<StreamMetadata>> mine = Collections.synchronizedList(new ArrayList<>());
            created.add(mine);
            long epoch = t;
            Thread caller = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perThread; i++) {
                    mine.add(store.createStream(epoch));
                }
            });
            caller.start();
            callers.add(caller);
        }
        start.countDown();
        for (Thread caller : callers) {
            caller.join();
        }
        TreeMap<Long, Long> epochs = new TreeMap<>();
        for (int t = 0; t < threads; t++) {
            long previous = 0;
            for (CompletableFuture<StreamMetadata> f : created.get(t)) {
                StreamMetadata m = await(f);
                assertThat(m.epoch()).isEqualTo(t); // this caller's own stream
                assertThat(m.streamId()).isGreaterThan(previous); // one caller's calls apply in call order
                previous = m.streamId();
                epochs.put(m.streamId(), m.epoch());
                assertThat(store.stream(m.streamId())).contains(m);
            }
        }
        assertThat(epochs).hasSize(threads * perThread);
        assertThat(epochs.firstKey() + threads * perThread - 1).isEqualTo(epochs.lastKey());

        List<CompletableFuture<StreamMetadata>> opens = new ArrayList<>();
        for (long id : epochs.keySet()) {
            opens.add(store.openStream(id, id % 2 == 0 ? 1 : 7)); // epochs 0..3 stored: 1 is stale for 2 and 3
        }
        int i = 0;
        for (Map.Entry<Long, Long> e : epochs.entrySet()) {
            long id = e.getKey();
            long stored = e.getValue();
            CompletableFuture<StreamMetadata> f = opens.get(i++);
            long asked = id % 2 == 0 ? 1 : 7;
            if (asked < stored) {
                assertThatThrownBy(() -> await(f)).isInstanceOf(StreamFencedException.class);
                assertThat(store.stream(id).orElseThrow().epoch()).isEqualTo(stored);
            } else {
                assertThat(await(f).epoch()).isEqualTo(asked);
            }
        }
    }

    @Test
    void openWithLowerEpochIsFencedAndHigherEpochIsRecorded() {
        StreamMetadata s = await(store.createStream(5));
        assertThatThrownBy(() -> await(store.openStream(s.streamId(), 4))).isInstanceOf(StreamFencedException.class);
        assertThat(await(store.openStream(s.streamId(), 5)).epoch()).isEqualTo(5);
        assertThat(await(store.openStream(s.streamId(), 9)).epoch()).isEqualTo(9);
        assertThatThrownBy(() -> await(store.trimStream(s.streamId(), 8, 0))).isInstanceOf(StreamFencedException.class);
        assertThatThrownBy(() -> await(store.deleteStream(s.streamId(), 8))).isInstanceOf(StreamFencedException.class);
    }

    @Test
    void risingEpochRecordsWhereItOwnsTheStreamAndReopeningAtTheSameEpochKeepsIt() {
        long a = await(store.createStream(0)).streamId();
        await(store.commitObjects(List.of(sso("o1", new StreamRange(a, 0, 10, 100))), 0));
        assertThat(store.stream(a).orElseThrow().epochStartOffset()).isZero();
        assertThat(await(store.openStream(a, 1, 25)).epochStartOffset()).isEqualTo(25);
        assertThat(await(store.openStream(a, 1, 40)).epochStartOffset()).as("same epoch: unchanged").isEqualTo(25);
        assertThat(await(store.openStream(a, 2)).epochStartOffset()).as("-1: the committed end").isEqualTo(10);
        assertThat(await(store.openStream(a, 3, 4)).epochStartOffset()).as("never below committed data").isEqualTo(10);
    }

    @Test
    void unknownStreamIsNotFound() {
        assertThatThrownBy(() -> await(store.openStream(12345, 0))).isInstanceOf(StreamNotFoundException.class);
        assertThatThrownBy(() -> await(store.trimStream(12345, 0, 1))).isInstanceOf(StreamNotFoundException.class);
    }

    @Test
    void trimMovesStartOffsetForwardOnly() {
        StreamMetadata s = await(store.createStream(0));
        assertThat(await(store.trimStream(s.streamId(), 0, 10)).startOffset()).isEqualTo(10);
        assertThat(await(store.trimStream(s.streamId(), 0, 4)).startOffset()).isEqualTo(10);
    }

    @Test
    void deletedStreamIsGoneAndItsIdIsNeverReused() {
        StreamMetadata s = await(store.createStream(0));
        await(store.deleteStream(s.streamId(), 0));
        assertThat(store.stream(s.streamId())).isEmpty();
        assertThatThrownBy(() -> await(store.openStream(s.streamId(), 0))).isInstanceOf(StreamNotFoundException.class);
        assertThat(await(store.createStream(0)).streamId()).isGreaterThan(s.streamId());
    }

    @Test
    void commitAdvancesCommittedEndAndIndexesRanges() {
        long a = await(store.createStream(0)).streamId();
        long b = await(store.createStream(0)).streamId();
        await(store.commitObjects(List.of(sso("o1", new StreamRange(a, 0, 10, 100), new StreamRange(b, 0, 5, 100))), 4096));
        await(store.commitObjects(List.of(sso("o2", new StreamRange(a, 10, 20, 100))), 8192));

        assertThat(store.stream(a).orElseThrow().committedEndOffset()).isEqualTo(20);
        assertThat(store.stream(b).orElseThrow().committedEndOffset()).isEqualTo(5);
        assertThat(store.walTrimPosition()).isEqualTo(8192);
        assertThat(store.objectsCovering(a, 5, 15)).extracting(e -> e.getValue().key()).containsExactly("o1", "o2");
        assertThat(store.objectsCovering(a, 10, 11)).extracting(Map.Entry::getKey).containsExactly(new StreamRange(a, 10, 20, 100));
        assertThat(store.objectsCovering(a, 20, 30)).isEmpty();
        assertThat(store.objectsCovering(b, 0, 100)).hasSize(1);
    }

    @Test
    void nonContiguousCommitIsRejectedWholeAndChangesNothing() {
        long a = await(store.createStream(0)).streamId();
        long b = await(store.createStream(0)).streamId();
        ObjectMetadata good = sso("good", new StreamRange(b, 0, 3, 100));
        ObjectMetadata gap = sso("gap", new StreamRange(a, 1, 3, 100)); // committed end is 0
        assertThatThrownBy(() -> await(store.commitObjects(List.of(good, gap), 100)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("contiguous");
        assertThat(store.objects()).isEmpty();
        assertThat(store.stream(b).orElseThrow().committedEndOffset()).isZero();
        assertThat(store.walTrimPosition()).isZero();
    }

    @Test
    void overlappingCommitIsRejected() {
        long a = await(store.createStream(0)).streamId();
        await(store.commitObjects(List.of(sso("o1", new StreamRange(a, 0, 10, 100))), 0));
        assertThatThrownBy(() -> await(store.commitObjects(List.of(sso("o2", new StreamRange(a, 5, 15, 100))), 0)))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void retriedCommitOfSameObjectsSucceedsOnce() {
        long a = await(store.createStream(0)).streamId();
        List<ObjectMetadata> objects = List.of(sso("o1", new StreamRange(a, 0, 10, 100)));
        await(store.commitObjects(objects, 10));
        await(store.commitObjects(objects, 10));
        assertThat(store.objects()).hasSize(1);
        assertThat(store.stream(a).orElseThrow().committedEndOffset()).isEqualTo(10);
    }

    @Test
    void commitOfDeletedStreamIsKeptAsGarbageButNotIndexed() {
        long a = await(store.createStream(0)).streamId();
        long b = await(store.createStream(0)).streamId();
        await(store.deleteStream(a, 0));
        await(store.commitObjects(List.of(sso("o1", new StreamRange(a, 0, 10, 100), new StreamRange(b, 0, 4, 100))), 0));
        assertThat(store.objects()).extracting(ObjectMetadata::key).containsExactly("o1");
        assertThat(store.objectsCovering(a, 0, 10)).isEmpty();
        assertThat(store.stream(b).orElseThrow().committedEndOffset()).isEqualTo(4);
    }

    @Test
    void commitOfNeverCreatedStreamIsRejected() {
        assertThatThrownBy(() -> await(store.commitObjects(List.of(sso("o1", new StreamRange(999, 0, 1, 100))), 0)))
                .isInstanceOf(StreamNotFoundException.class);
    }

    @Test
    void walTrimPositionNeverMovesBack() {
        long a = await(store.createStream(0)).streamId();
        await(store.commitObjects(List.of(sso("o1", new StreamRange(a, 0, 1, 100))), 500));
        await(store.commitObjects(List.of(sso("o2", new StreamRange(a, 1, 2, 100))), 200));
        assertThat(store.walTrimPosition()).isEqualTo(500);
    }

    protected static ObjectMetadata so(String key, long streamId, long start, long end) {
        return new ObjectMetadata(key, 1000, ObjectType.STREAM, List.of(new StreamRange(streamId, start, end, 100)), 0);
    }

    private static List<String> keys(List<Map.Entry<StreamRange, ObjectMetadata>> covering) {
        return covering.stream().map(e -> e.getValue().key()).toList();
    }

    @Test
    void replaceSwapsObjectsAtomicallyAndKeepsEveryOffset() {
        long a = await(store.createStream(0)).streamId();
        long b = await(store.createStream(0)).streamId();
        await(store.commitObjects(List.of(sso("o1", new StreamRange(a, 0, 10, 100), new StreamRange(b, 0, 4, 40))), 0));
        await(store.commitObjects(List.of(sso("o2", new StreamRange(a, 10, 20, 100), new StreamRange(b, 4, 6, 20))), 0));
        await(store.commitObjects(List.of(so("o3", a, 20, 30)), 0));

        await(store.replaceObjects(List.of("o1", "o2"), List.of(so("a-0", a, 0, 20), so("b-0", b, 0, 6))));

        assertThat(store.objects()).extracting(ObjectMetadata::key).containsExactlyInAnyOrder("o3", "a-0", "b-0");
        assertThat(keys(store.objectsCovering(a, 0, 30))).containsExactly("a-0", "o3");
        assertThat(keys(store.objectsCovering(b, 5, 6))).containsExactly("b-0");
        assertThat(store.stream(a).orElseThrow().committedEndOffset()).isEqualTo(30);
        // retried after success (a lost response): a no-op
        await(store.replaceObjects(List.of("o1", "o2"), List.of(so("a-0", a, 0, 20), so("b-0", b, 0, 6))));
        assertThat(store.objects()).hasSize(3);
    }

    @Test
    void replaceMayDropOnlyOffsetsBelowTheStartOffset() {
        long a = await(store.createStream(0)).streamId();
        await(store.commitObjects(List.of(so("o1", a, 0, 10), so("o2", a, 10, 20)), 0));
        await(store.trimStream(a, 0, 5));

        assertThatThrownBy(() -> await(store.replaceObjects(List.of("o1", "o2"), List.of(so("x", a, 6, 20)))))
                .as("drops live offset 5").isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> await(store.replaceObjects(List.of("o1", "o2"), List.of(so("x", a, 0, 19)))))
                .as("drops the last offset").isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> await(store.replaceObjects(List.of("o1"), List.of())))
                .as("o1 still holds live offsets 5..9").isInstanceOf(IllegalStateException.class);
        assertThat(store.objects()).extracting(ObjectMetadata::key).containsExactlyInAnyOrder("o1", "o2");

        await(store.replaceObjects(List.of("o1", "o2"), List.of(so("x", a, 3, 20))));
        assertThat(keys(store.objectsCovering(a, 5, 20))).containsExactly("x");

        await(store.trimStream(a, 0, 20));
        await(store.replaceObjects(List.of("x"), List.of()));
        assertThat(store.objects()).isEmpty();
    }

    /** A trim that lands while a compaction runs leaves its output wholly below the start: dead, but accepted. */
    @Test
    void replaceAcceptsOutputsWhollyBelowTheStartOffsetThatTheInputsHeld() {
        long a = await(store.createStream(0)).streamId();
        await(store.commitObjects(List.of(so("o1", a, 0, 10), so("o2", a, 10, 20), so("o3", a, 20, 30)), 0));
        await(store.trimStream(a, 0, 25));
        assertThatThrownBy(() -> await(store.replaceObjects(List.of("o1"), List.of(so("x", a, 0, 15)))))
                .as("offsets 10..14 are not held by the replaced object").isInstanceOf(IllegalStateException.class);
        await(store.replaceObjects(List.of("o1", "o2"), List.of(so("x", a, 0, 20))));
        assertThat(store.objects()).extracting(ObjectMetadata::key).containsExactlyInAnyOrder("x", "o3");
        assertThat(keys(store.objectsCovering(a, 25, 30))).containsExactly("o3");
        await(store.replaceObjects(List.of("x"), List.of())); // the next cycle drops the dead output
        assertThat(store.objects()).extracting(ObjectMetadata::key).containsExactly("o3");
    }

    @Test
    void replaceMustNotOverlapAnObjectThatStays() {
        long a = await(store.createStream(0)).streamId();
        await(store.commitObjects(List.of(so("o1", a, 0, 10), so("o2", a, 10, 20), so("o3", a, 20, 30)), 0));
        assertThatThrownBy(() -> await(store.replaceObjects(List.of("o1"), List.of(so("x", a, 0, 20)))))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> await(store.replaceObjects(List.of("o1", "o3"), List.of(so("x", a, 0, 30)))))
                .as("o2 lies between o1 and o3").isInstanceOf(IllegalStateException.class);
        // two separate runs are fine when the replacement keeps them separate
        await(store.replaceObjects(List.of("o1", "o3"), List.of(so("x", a, 0, 10), so("y", a, 20, 30))));
        assertThat(keys(store.objectsCovering(a, 0, 30))).containsExactly("x", "o2", "y");
    }

    @Test
    void replaceRejectsUncommittedInputsReusedKeysAndForeignStreams() {
        long a = await(store.createStream(0)).streamId();
        long b = await(store.createStream(0)).streamId();
        await(store.commitObjects(List.of(so("o1", a, 0, 10), so("o2", b, 0, 10)), 0));
        assertThatThrownBy(() -> await(store.replaceObjects(List.of("o1", "nope"), List.of(so("x", a, 0, 10)))))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> await(store.replaceObjects(List.of("o1"), List.of(so("o2", a, 0, 10)))))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> await(store.replaceObjects(List.of("o1"), List.of(so("x", a, 0, 10), so("y", b, 0, 10)))))
                .as("adds offsets of stream b that o1 does not hold").isInstanceOf(IllegalStateException.class);
    }

    @Test
    void objectsOfDeletedStreamsCanBeDropped() {
        long a = await(store.createStream(0)).streamId();
        long b = await(store.createStream(0)).streamId();
        await(store.commitObjects(List.of(sso("o1", new StreamRange(a, 0, 10, 100), new StreamRange(b, 0, 4, 40))), 0));
        await(store.deleteStream(b, 0));
        assertThatThrownBy(() -> await(store.replaceObjects(List.of("o1"), List.of())))
                .as("stream a is live in o1").isInstanceOf(IllegalStateException.class);
        await(store.replaceObjects(List.of("o1"), List.of(so("a", a, 0, 10))));
        assertThat(store.objects()).extracting(ObjectMetadata::key).containsExactly("a");
        await(store.deleteStream(a, 0));
        await(store.replaceObjects(List.of("a"), List.of()));
        assertThat(store.objects()).isEmpty();
    }

    @Test
    void orphansMustNotBeCommitted() {
        long a = await(store.createStream(0)).streamId();
        await(store.commitObjects(List.of(so("o1", a, 0, 10)), 0));
        await(store.deleteOrphans(List.of("never-committed", "other")));
        assertThatThrownBy(() -> await(store.deleteOrphans(List.of("other", "o1"))))
                .isInstanceOf(IllegalStateException.class);
    }
}
