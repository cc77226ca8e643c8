package dev.strata.core.metadata;

import static dev.strata.api.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.StreamFencedException;
import dev.strata.api.StreamNotFoundException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Rules every {@link MetadataStore} obeys; run against each implementation. */
abstract class MetadataStoreContractTest {

    protected MetadataStore store;

    protected abstract MetadataStore newStore() throws Exception;

    @BeforeEach
    void open() throws Exception {
        store = newStore();
        await(store.registerNode());
    }

    @AfterEach
    void close() {
        store.close();
    }

    static ObjectMetadata sso(String key, StreamRange... ranges) {
        return new ObjectMetadata(key, 1000, ObjectType.STREAM_SET, List.of(ranges));
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
        await(store.commitObjects(List.of(sso("o1", new StreamRange(a, 0, 10))), 0));
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
        await(store.commitObjects(List.of(sso("o1", new StreamRange(a, 0, 10), new StreamRange(b, 0, 5))), 4096));
        await(store.commitObjects(List.of(sso("o2", new StreamRange(a, 10, 20))), 8192));

        assertThat(store.stream(a).orElseThrow().committedEndOffset()).isEqualTo(20);
        assertThat(store.stream(b).orElseThrow().committedEndOffset()).isEqualTo(5);
        assertThat(store.walTrimPosition()).isEqualTo(8192);
        assertThat(store.objectsCovering(a, 5, 15)).extracting(e -> e.getValue().key()).containsExactly("o1", "o2");
        assertThat(store.objectsCovering(a, 10, 11)).extracting(Map.Entry::getKey).containsExactly(new StreamRange(a, 10, 20));
        assertThat(store.objectsCovering(a, 20, 30)).isEmpty();
        assertThat(store.objectsCovering(b, 0, 100)).hasSize(1);
    }

    @Test
    void nonContiguousCommitIsRejectedWholeAndChangesNothing() {
        long a = await(store.createStream(0)).streamId();
        long b = await(store.createStream(0)).streamId();
        ObjectMetadata good = sso("good", new StreamRange(b, 0, 3));
        ObjectMetadata gap = sso("gap", new StreamRange(a, 1, 3)); // committed end is 0
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
        await(store.commitObjects(List.of(sso("o1", new StreamRange(a, 0, 10))), 0));
        assertThatThrownBy(() -> await(store.commitObjects(List.of(sso("o2", new StreamRange(a, 5, 15))), 0)))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void retriedCommitOfSameObjectsSucceedsOnce() {
        long a = await(store.createStream(0)).streamId();
        List<ObjectMetadata> objects = List.of(sso("o1", new StreamRange(a, 0, 10)));
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
        await(store.commitObjects(List.of(sso("o1", new StreamRange(a, 0, 10), new StreamRange(b, 0, 4))), 0));
        assertThat(store.objects()).extracting(ObjectMetadata::key).containsExactly("o1");
        assertThat(store.objectsCovering(a, 0, 10)).isEmpty();
        assertThat(store.stream(b).orElseThrow().committedEndOffset()).isEqualTo(4);
    }

    @Test
    void commitOfNeverCreatedStreamIsRejected() {
        assertThatThrownBy(() -> await(store.commitObjects(List.of(sso("o1", new StreamRange(999, 0, 1))), 0)))
                .isInstanceOf(StreamNotFoundException.class);
    }

    @Test
    void walTrimPositionNeverMovesBack() {
        long a = await(store.createStream(0)).streamId();
        await(store.commitObjects(List.of(sso("o1", new StreamRange(a, 0, 1))), 500));
        await(store.commitObjects(List.of(sso("o2", new StreamRange(a, 1, 2))), 200));
        assertThat(store.walTrimPosition()).isEqualTo(500);
    }
}
