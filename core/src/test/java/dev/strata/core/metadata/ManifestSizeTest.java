package dev.strata.core.metadata;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ForwardingObjectStorage;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
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

/** What the manifest costs in storage as the state grows: snapshots in proportion to changes, bounded log. */
class ManifestSizeTest {

    private static final int INTERVAL = 4;

    @TempDir
    Path dir;

    private LocalObjectStorage local;
    private CountingStorage storage;

    @BeforeEach
    void open() {
        local = LocalObjectStorage.open(dir);
        storage = new CountingStorage(local);
    }

    @AfterEach
    void close() {
        local.close();
    }

    /**
     * With 2,000 streams a snapshot is ~80 KB and a trim's entry ~80 bytes: writing the snapshot every
     * 4 entries, as a small state is, would write 1,000 times the bytes of the changes. Instead one is
     * written every {@code MAX_INTERVAL_FACTOR * INTERVAL} entries, and an opener still sees every change.
     */
    @Test
    void aLargeStateIsSnapshottedInProportionToItsChangesAndReopensWhole() {
        List<StreamMetadata> expected;
        int trims = 200;
        try (ManifestMetadataStore store = ManifestMetadataStore.open(storage, "", INTERVAL)) {
            await(store.registerNode());
            List<CompletableFuture<StreamMetadata>> created = new ArrayList<>();
            for (int i = 0; i < 2_000; i++) {
                created.add(store.createStream(0));
            }
            created.forEach(f -> await(f));
            int snapshotsBefore = storage.snapshotPuts.get();
            for (int i = 0; i < trims; i++) {
                await(store.trimStream(1 + i % 2_000, 0, i + 1)); // one entry each
            }
            int snapshots = storage.snapshotPuts.get() - snapshotsBefore;
            int bound = ManifestMetadataStore.MAX_INTERVAL_FACTOR * INTERVAL;
            assertThat(snapshots).isBetween(trims / bound - 1, trims / bound + 1);
            expected = store.streams();
        }
        List<ObjectInfo> logs = await(local.list("manifest/log/"));
        assertThat(logs.size()).isLessThanOrEqualTo(2 * ManifestMetadataStore.MAX_INTERVAL_FACTOR * INTERVAL + 1);
        long latestSnapshot = await(local.list("manifest/snapshot/")).stream().mapToLong(ManifestSizeTest::version).max()
                .orElseThrow();
        long entriesAfterIt = logs.stream().filter(info -> version(info) > latestSnapshot).count();

        storage.gets.set(0);
        try (ManifestMetadataStore again = ManifestMetadataStore.open(storage, "", INTERVAL)) {
            assertThat(again.streams()).containsExactlyElementsOf(expected);
            assertThat(again.stream(trims).orElseThrow().startOffset()).isEqualTo(trims);
        }
        // the newest snapshot, the entries after it (read ahead, as listed), and one probe past the end
        assertThat(storage.gets.get()).isEqualTo(1 + entriesAfterIt + 1);
    }

    private static long version(ObjectInfo info) {
        return Long.parseLong(info.key().substring(info.key().lastIndexOf('/') + 1));
    }

    @Test
    void aSmallStateIsSnapshottedEveryInterval() {
        try (ManifestMetadataStore store = ManifestMetadataStore.open(storage, "", INTERVAL)) {
            await(store.registerNode());
            long a = await(store.createStream(0)).streamId();
            for (int i = 0; i < 40; i++) {
                await(store.trimStream(a, 0, i + 1));
            }
        }
        assertThat(storage.snapshotPuts.get()).isEqualTo(42 / INTERVAL);
    }

    /** Counts snapshot PUTs and GETs. */
    private static final class CountingStorage extends ForwardingObjectStorage {
        final AtomicInteger snapshotPuts = new AtomicInteger();
        final AtomicInteger gets = new AtomicInteger();

        CountingStorage(ObjectStorage delegate) {
            super(delegate);
        }

        @Override
        public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
            if (key.startsWith("manifest/snapshot/")) {
                snapshotPuts.incrementAndGet();
            }
            return super.put(key, data, condition);
        }

        @Override
        public CompletableFuture<ObjectData> get(String key, ByteRange range) {
            gets.incrementAndGet();
            return super.get(key, range);
        }
    }
}
