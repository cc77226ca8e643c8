package dev.strata.core.metadata;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.BackpressureException;
import dev.strata.api.StorageException;
import dev.strata.api.StreamFencedException;
import dev.strata.api.StreamNotFoundException;
import dev.strata.objectstore.ForwardingObjectStorage;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.PutCondition;
import io.netty.buffer.ByteBuf;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Group commit in the manifest store: changes that arrive while a log entry is being written are
 * validated one by one against the state they will apply to and written together in the next
 * entry; each caller gets its own result or its own failure.
 */
class GroupCommitTest {

    @TempDir
    Path dir;

    private LocalObjectStorage local;
    private LogWrites storage;
    private ManifestMetadataStore store;

    @BeforeEach
    void open() {
        local = LocalObjectStorage.open(dir);
        storage = new LogWrites(local);
        store = ManifestMetadataStore.open(storage, "", 64);
        await(store.registerNode());
    }

    @AfterEach
    void close() {
        storage.release();
        store.close();
        local.close();
    }

    @Test
    void changesArrivingDuringAWriteShareTheNextEntry() {
        storage.hold();
        CompletableFuture<StreamMetadata> first = store.createStream(0);
        await(storage.firstHeld);
        List<CompletableFuture<StreamMetadata>> rest = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            rest.add(store.createStream(i));
        }
        int entriesBefore = storage.logWrites.get();

        storage.release();

        assertThat(await(first).streamId()).isEqualTo(1);
        for (int i = 0; i < rest.size(); i++) {
            assertThat(await(rest.get(i))).isEqualTo(new StreamMetadata(i + 2, i, 0, 0)); // ids in call order
        }
        assertThat(storage.logWrites.get() - entriesBefore).isEqualTo(1); // the 300 in one entry
        assertThat(store.snapshotStateVersion()).isEqualTo(3); // register, first, the rest
        assertThat(reopenedStreams()).containsExactlyElementsOf(store.streams());
    }

    @Test
    void aChangeThatFailsValidationFailsAloneAndTheOthersSeeTheChangesBeforeThem() {
        long a = await(store.createStream(1)).streamId();
        long b = await(store.createStream(1)).streamId();
        storage.hold();
        CompletableFuture<StreamMetadata> inFlight = store.trimStream(b, 1, 1);
        await(storage.firstHeld);

        CompletableFuture<StreamMetadata> staleTrim = store.trimStream(a, 0, 5);
        CompletableFuture<StreamMetadata> missing = store.openStream(999, 1);
        CompletableFuture<StreamMetadata> reopen = store.openStream(a, 3, 7);
        CompletableFuture<StreamMetadata> trimAtOldEpoch = store.trimStream(a, 1, 4); // fenced by the open before it
        CompletableFuture<StreamMetadata> trimAtNewEpoch = store.trimStream(a, 3, 4);
        CompletableFuture<StreamMetadata> trimBackwards = store.trimStream(a, 3, 2); // never moves the start back
        CompletableFuture<Void> delete = store.deleteStream(b, 1);
        CompletableFuture<StreamMetadata> trimDeleted = store.trimStream(b, 1, 9);
        CompletableFuture<StreamMetadata> created = store.createStream(4);
        storage.release();

        assertThat(await(inFlight).startOffset()).isEqualTo(1);
        assertThatThrownBy(() -> await(staleTrim)).isInstanceOf(StreamFencedException.class);
        assertThatThrownBy(() -> await(missing)).isInstanceOf(StreamNotFoundException.class);
        assertThat(await(reopen)).isEqualTo(new StreamMetadata(a, 3, 0, 0, 7));
        assertThatThrownBy(() -> await(trimAtOldEpoch)).isInstanceOf(StreamFencedException.class)
                .hasMessageContaining("storedEpoch=3");
        assertThat(await(trimAtNewEpoch)).isEqualTo(new StreamMetadata(a, 3, 4, 0, 7));
        assertThat(await(trimBackwards).startOffset()).isEqualTo(4);
        await(delete);
        assertThatThrownBy(() -> await(trimDeleted)).isInstanceOf(StreamNotFoundException.class);
        assertThat(await(created)).isEqualTo(new StreamMetadata(3, 4, 0, 0));

        assertThat(store.streams()).containsExactly(new StreamMetadata(a, 3, 4, 0, 7), new StreamMetadata(3, 4, 0, 0));
        assertThat(reopenedStreams()).containsExactlyElementsOf(store.streams());
    }

    @Test
    void commitsAndNodeRegistrationsGoInEntriesOfTheirOwnInCallOrder() {
        long a = await(store.createStream(0)).streamId();
        storage.hold();
        CompletableFuture<StreamMetadata> inFlight = store.createStream(0);
        await(storage.firstHeld);
        int before = storage.logWrites.get();

        CompletableFuture<StreamMetadata> trim1 = store.trimStream(a, 0, 1);
        CompletableFuture<Void> commit = store.commitObjects(List.of(new ObjectMetadata("o1", 10, ObjectType.STREAM,
                List.of(new StreamRange(a, 0, 10, 10)), 0)), 100);
        CompletableFuture<StreamMetadata> trim2 = store.trimStream(a, 0, 2);
        CompletableFuture<StreamMetadata> trim3 = store.trimStream(a, 0, 3);
        storage.release();

        await(inFlight);
        assertThat(await(trim1)).isEqualTo(new StreamMetadata(a, 0, 1, 0));
        await(commit);
        assertThat(await(trim2)).isEqualTo(new StreamMetadata(a, 0, 2, 10)); // sees the commit before it
        assertThat(await(trim3)).isEqualTo(new StreamMetadata(a, 0, 3, 10));
        // after the held create: [trim1], [commit], [trim2, trim3]
        assertThat(storage.logWrites.get() - before).isEqualTo(3);
        assertThat(reopenedStreams()).containsExactlyElementsOf(store.streams());
    }

    @Test
    void aFailedWriteFailsEveryChangeInItsEntryAndTheNextEntryIsWritten() {
        long a = await(store.createStream(0)).streamId();
        storage.hold();
        CompletableFuture<StreamMetadata> inFlight = store.trimStream(a, 0, 1);
        await(storage.firstHeld);
        List<CompletableFuture<StreamMetadata>> batch = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            batch.add(store.createStream(0));
        }
        storage.failNextLogWrite();
        storage.release();

        assertThat(await(inFlight).startOffset()).isEqualTo(1);
        for (CompletableFuture<StreamMetadata> f : batch) {
            assertThatThrownBy(() -> await(f)).isInstanceOf(StorageException.class);
        }
        assertThat(await(store.createStream(0)).streamId()).isEqualTo(a + 1); // none of the failed ten applied
        assertThat(reopenedStreams()).containsExactlyElementsOf(store.streams());
    }

    @Test
    void aBatchThatLosesTheRaceToANewerNodeIsRebuiltAndFencedWhole() {
        long a = await(store.createStream(0)).streamId();
        try (ManifestMetadataStore newer = ManifestMetadataStore.open(local, "", 64)) {
            await(newer.registerNode());
            storage.hold();
            CompletableFuture<StreamMetadata> inFlight = store.trimStream(a, 0, 1);
            await(storage.firstHeld);
            List<CompletableFuture<StreamMetadata>> batch = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                batch.add(store.trimStream(a, 0, 2 + i));
            }
            storage.release();

            for (CompletableFuture<StreamMetadata> f : batch) {
                assertThatThrownBy(() -> await(f)).isInstanceOf(StreamFencedException.class).hasMessageContaining("node fenced");
            }
            assertThatThrownBy(() -> await(inFlight)).isInstanceOf(StreamFencedException.class);
            assertThat(reopenedStreams()).containsExactly(new StreamMetadata(a, 0, 0, 0));
        }
    }

    @Test
    void theQueueIsBoundedAndRefusesWithBackpressureNotLoss() {
        storage.hold();
        CompletableFuture<StreamMetadata> inFlight = store.createStream(0);
        await(storage.firstHeld);
        List<CompletableFuture<StreamMetadata>> queued = new ArrayList<>();
        for (int i = 1; i < AbstractMetadataStore.MAX_QUEUED_CHANGES; i++) {
            queued.add(store.createStream(0));
        }
        CompletableFuture<StreamMetadata> refused = store.createStream(0);
        assertThat(refused).isCompletedExceptionally();
        assertThatThrownBy(() -> await(refused)).isInstanceOf(BackpressureException.class)
                .hasMessageContaining(String.valueOf(AbstractMetadataStore.MAX_QUEUED_CHANGES))
                .satisfies(e -> assertThat(((BackpressureException) e).isRetriable()).isTrue());
        storage.release();

        await(inFlight);
        await(queued.get(queued.size() - 1));
        assertThat(queued).allSatisfy(f -> assertThat(f).isCompleted().isNotCompletedExceptionally());
        assertThat(await(store.createStream(0)).streamId()).isEqualTo(AbstractMetadataStore.MAX_QUEUED_CHANGES + 1);
        // at most MAX_BATCH_CHANGES per entry
        assertThat(store.snapshotStateVersion()).isGreaterThanOrEqualTo(
                2 + (AbstractMetadataStore.MAX_QUEUED_CHANGES - 1) / AbstractMetadataStore.MAX_BATCH_CHANGES);
    }

    @Test
    void closeDuringAnOutageCompletesEveryWaitingChange() {
        store.close(); // reopened with a short close bound
        store = ManifestMetadataStore.open(storage, "", 64, java.time.Duration.ofMillis(200));
        await(store.registerNode());
        long a = await(store.createStream(0)).streamId();
        storage.hold(); // never released before close: the object store does not answer
        CompletableFuture<StreamMetadata> inFlight = store.trimStream(a, 0, 1);
        await(storage.firstHeld);
        List<CompletableFuture<StreamMetadata>> queued = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            queued.add(store.createStream(0));
        }

        store.close();

        assertThat(inFlight).isCompletedExceptionally();
        assertThatThrownBy(() -> await(inFlight)).isInstanceOf(StorageException.class);
        for (CompletableFuture<StreamMetadata> f : queued) {
            assertThat(f).isCompletedExceptionally();
            assertThatThrownBy(() -> await(f)).isInstanceOf(dev.strata.api.StreamClosedException.class);
        }
        assertThatThrownBy(() -> await(store.createStream(0))).isInstanceOf(dev.strata.api.StreamClosedException.class);
    }

    @Test
    void anEntryOfChangesAppliesAllOrNone() {
        MetadataState state = new MetadataState();
        state.apply(new MetadataChange.RegisterNode(1));
        state.apply(new MetadataChange.CreateStream(1, 1, 0));
        List<MetadataChange> entry = List.of(new MetadataChange.TrimStream(1, 1, 0, 5),
                new MetadataChange.DeleteStream(1, 1, 0), new MetadataChange.TrimStream(1, 1, 0, 6));

        assertThatThrownBy(() -> state.apply(entry)).isInstanceOf(StreamNotFoundException.class);
        assertThat(state.stream(1)).contains(new StreamMetadata(1, 0, 0, 0));
        assertThat(state.version()).isEqualTo(2);
        assertThatThrownBy(() -> state.apply(List.of(new MetadataChange.TrimStream(1, 1, 0, 5),
                new MetadataChange.CommitObjects(1, List.of(), 0))))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("only stream changes");
    }

    private List<StreamMetadata> reopenedStreams() {
        try (ManifestMetadataStore again = ManifestMetadataStore.open(local, "", 64)) {
            return again.streams();
        }
    }

    /**
     * Counts manifest log writes; {@link #hold()} holds them (the first held one completes
     * {@link #firstHeld}) until {@link #release()}; {@link #failNextLogWrite()} fails the next one
     * called for without writing it.
     */
    private static final class LogWrites extends ForwardingObjectStorage {
        final AtomicInteger logWrites = new AtomicInteger();
        final CompletableFuture<Void> firstHeld = new CompletableFuture<>();
        private volatile CompletableFuture<Void> gate = CompletableFuture.completedFuture(null);
        private volatile boolean failNext;

        LogWrites(ObjectStorage delegate) {
            super(delegate);
        }

        void hold() {
            gate = new CompletableFuture<>();
        }

        void release() {
            gate.complete(null);
        }

        void failNextLogWrite() {
            failNext = true;
        }

        @Override
        public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
            if (!key.startsWith("manifest/log/")) {
                return super.put(key, data, condition);
            }
            logWrites.incrementAndGet();
            boolean fail = failNext;
            failNext = false;
            CompletableFuture<Void> g = gate;
            if (!g.isDone()) {
                firstHeld.complete(null);
            }
            return g.thenCompose(v -> {
                if (fail) {
                    data.release();
                    return CompletableFuture.failedFuture(new ObjectStorageException(ObjectStorageException.Kind.TRANSIENT,
                            Operation.PUT, key, 503, "injected", null));
                }
                return super.put(key, data, condition);
            });
        }
    }
}
