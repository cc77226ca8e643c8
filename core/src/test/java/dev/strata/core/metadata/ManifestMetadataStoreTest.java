package dev.strata.core.metadata;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.CorruptDataException;
import dev.strata.api.StorageException;
import dev.strata.api.StreamFencedException;
import dev.strata.objectstore.ForwardingObjectStorage;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.PutCondition;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestMetadataStoreTest extends MetadataStoreContractTest {

    @TempDir
    Path dir;

    private LocalObjectStorage storage;

    @Override
    protected MetadataStore newStore() {
        storage = LocalObjectStorage.open(dir);
        return ManifestMetadataStore.open(storage, "node/", 4);
    }

    @AfterEach
    void closeStorage() {
        store.close(); // before the storage it writes to (this runs before the superclass's @AfterEach)
        storage.close();
    }

    private static ObjectMetadata sso(String key, long streamId, long start, long end) {
        return new ObjectMetadata(key, 100, ObjectType.STREAM_SET, List.of(new StreamRange(streamId, start, end, 100)), 0);
    }

    @Test
    void reopenedStoreSeesEveryChange() {
        long a = await(store.createStream(2)).streamId();
        long b = await(store.createStream(0)).streamId();
        for (int i = 0; i < 9; i++) {
            await(store.commitObjects(List.of(sso("o" + i, a, i * 10L, i * 10L + 10)), i * 100L));
        }
        await(store.trimStream(a, 2, 35));
        await(store.deleteStream(b, 0));

        try (ManifestMetadataStore again = ManifestMetadataStore.open(storage, "node/", 4)) {
            assertThat(again.streams()).containsExactlyElementsOf(store.streams());
            assertThat(again.objects()).containsExactlyInAnyOrderElementsOf(store.objects());
            assertThat(again.walTrimPosition()).isEqualTo(800);
            assertThat(again.stream(a).orElseThrow()).isEqualTo(new StreamMetadata(a, 2, 35, 90));
            assertThat(again.objectsCovering(a, 35, 50)).extracting(e -> e.getValue().key()).containsExactly("o3", "o4");
        }
    }

    @Test
    void replacedObjectsStayReplacedAfterReopenAndSnapshots() {
        long a = await(store.createStream(0)).streamId();
        for (int i = 0; i < 6; i++) {
            await(store.commitObjects(List.of(sso("o" + i, a, i * 10L, i * 10L + 10)), i));
        }
        await(store.trimStream(a, 0, 15));
        await(store.replaceObjects(List.of("o0"), List.of()));
        await(store.replaceObjects(List.of("o1", "o2", "o3"), List.of(new ObjectMetadata("m", 50, ObjectType.STREAM,
                List.of(new StreamRange(a, 10, 40, 60)), 0))));
        try (ManifestMetadataStore again = ManifestMetadataStore.open(storage, "node/", 4)) {
            assertThat(again.objects()).extracting(ObjectMetadata::key).containsExactlyInAnyOrder("m", "o4", "o5");
            assertThat(again.objectsCovering(a, 15, 60)).extracting(e -> e.getValue().key()).containsExactly("m", "o4", "o5");
        }
    }

    @Test
    void fencedProcessCannotDeleteOrphansOrReplaceObjects() {
        long a = await(store.createStream(0)).streamId();
        await(store.commitObjects(List.of(sso("o1", a, 0, 5), sso("o2", a, 5, 9)), 10));
        try (ManifestMetadataStore next = ManifestMetadataStore.open(storage, "node/", 4)) {
            await(next.registerNode());
            assertThatThrownBy(() -> await(store.deleteOrphans(List.of("new-owner-upload"))))
                    .isInstanceOf(StreamFencedException.class);
            assertThatThrownBy(() -> await(store.replaceObjects(List.of("o1", "o2"), List.of(sso("m", a, 0, 9)))))
                    .isInstanceOf(StreamFencedException.class);
            assertThat(next.objects()).extracting(ObjectMetadata::key).containsExactlyInAnyOrder("o1", "o2");
        }
    }

    @Test
    void snapshotsKeepTheNumberOfManifestFilesBounded() {
        long a = await(store.createStream(0)).streamId();
        for (int i = 0; i < 40; i++) {
            await(store.commitObjects(List.of(sso("o" + i, a, i, i + 1)), i));
        }
        store.close(); // waits for the asynchronous snapshot writes and cleanups
        List<ObjectInfo> logs = await(storage.list("node/manifest/log/"));
        List<ObjectInfo> snapshots = await(storage.list("node/manifest/snapshot/"));
        // interval 4: at most two intervals of log entries and two snapshots survive (a cleanup runs
        // after each snapshot; allow one more interval for the order in which they finished).
        assertThat(logs.size()).isLessThanOrEqualTo(3 * 4);
        assertThat(snapshots.size()).isBetween(1, 3);
        try (ManifestMetadataStore again = ManifestMetadataStore.open(storage, "node/", 4)) {
            assertThat(again.stream(a).orElseThrow().committedEndOffset()).isEqualTo(40);
            assertThat(again.objects()).hasSize(40);
        }
    }

    @Test
    void newProcessFencesThePreviousOne() {
        long a = await(store.createStream(0)).streamId();
        await(store.commitObjects(List.of(sso("o1", a, 0, 5)), 10));

        try (ManifestMetadataStore next = ManifestMetadataStore.open(storage, "node/", 4)) {
            long nextEpoch = await(next.registerNode());
            assertThat(nextEpoch).isGreaterThan(store.nodeEpoch());

            // The old process loses the race for the next version, learns of the new node epoch and is fenced.
            assertThatThrownBy(() -> await(store.commitObjects(List.of(sso("o2", a, 5, 9)), 20)))
                    .isInstanceOf(StreamFencedException.class)
                    .hasMessageContaining("node fenced");
            assertThatThrownBy(() -> await(store.createStream(0))).isInstanceOf(StreamFencedException.class);

            // The new owner continues from what was committed.
            await(next.commitObjects(List.of(sso("o2b", a, 5, 7)), 30));
            assertThat(next.stream(a).orElseThrow().committedEndOffset()).isEqualTo(7);
        }
        try (ManifestMetadataStore check = ManifestMetadataStore.open(storage, "node/", 4)) {
            assertThat(check.objects()).extracting(ObjectMetadata::key).containsExactlyInAnyOrder("o1", "o2b");
        }
    }

    @Test
    void racingProcessesNeverBothCommitTheSameVersion() throws Exception {
        long a = await(store.createStream(0)).streamId();
        ManifestMetadataStore other = ManifestMetadataStore.open(storage, "node/", 4);
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<StreamMetadata>> mine = new ArrayList<>();
        Thread racer = new Thread(() -> {
            try {
                go.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            other.registerNode();
        });
        racer.start();
        go.countDown();
        for (int i = 0; i < 30; i++) {
            mine.add(store.trimStream(a, 0, i));
        }
        racer.join();
        await(other.registerNode()); // queued after the racer's registration: the store is now surely other's
        int succeeded = 0;
        for (CompletableFuture<StreamMetadata> f : mine) {
            try {
                await(f);
                succeeded++;
            } catch (StreamFencedException expected) {
                // fenced after the takeover
            }
        }
        long trimmed = succeeded == 0 ? 0 : succeeded - 1;
        try (ManifestMetadataStore check = ManifestMetadataStore.open(storage, "node/", 4)) {
            // Every acknowledged trim is in the manifest, none after fencing, and the versions form one history.
            assertThat(check.stream(a).orElseThrow().startOffset()).isEqualTo(trimmed);
            assertThat(check.snapshotState().nodeEpoch()).isEqualTo(other.nodeEpoch());
        }
        assertThatThrownBy(() -> await(store.trimStream(a, 0, 40))).isInstanceOf(StreamFencedException.class);
        other.close();
    }

    @Test
    void corruptLogEntryFailsOpenWithCorruptDataException() {
        await(storage.put("node/manifest/log/" + String.format("%020d", ((ManifestMetadataStore) store).snapshotStateVersion() + 1),
                Unpooled.wrappedBuffer(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                    21, 22, 23, 24, 25, 26, 27, 28, 29, 30})));
        assertThatThrownBy(() -> ManifestMetadataStore.open(storage, "node/", 4))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("node/manifest/log/");
    }

    @Test
    void writeWhoseResponseWasLostIsFoundAndAppliedNotForked() {
        LostResponseStorage flaky = new LostResponseStorage(storage);
        ManifestMetadataStore writer = ManifestMetadataStore.open(flaky, "other/", 4);
        await(writer.registerNode());
        long a = await(writer.createStream(0)).streamId();

        flaky.loseNextPutResponse.set(true);
        assertThatThrownBy(() -> await(writer.trimStream(a, 0, 7))).isInstanceOf(StorageException.class);
        assertThat(writer.stream(a).orElseThrow().startOffset()).as("not applied locally yet").isZero();

        // The next change finds the stored entry (its own, from the lost write), applies it, then goes on.
        await(writer.trimStream(a, 0, 3));
        assertThat(writer.stream(a).orElseThrow().startOffset()).isEqualTo(7);
        writer.close();
        try (ManifestMetadataStore check = ManifestMetadataStore.open(storage, "other/", 4)) {
            assertThat(check.stream(a).orElseThrow().startOffset()).isEqualTo(7);
            assertThat(check.snapshotState().version()).isEqualTo(4); // register, create, trim 7, trim 3
        }
    }

    /** Stores a put but reports a retriable failure, as when the response is lost after the server stored it. */
    private static final class LostResponseStorage extends ForwardingObjectStorage {
        final AtomicBoolean loseNextPutResponse = new AtomicBoolean();

        LostResponseStorage(ObjectStorage delegate) {
            super(delegate);
        }

        @Override
        public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
            CompletableFuture<ObjectInfo> result = delegate.put(key, data, condition);
            if (loseNextPutResponse.compareAndSet(true, false)) {
                return result.thenCompose(info -> CompletableFuture.failedFuture(
                        new StorageException("response lost: key=" + key, true)));
            }
            return result;
        }
    }
}
