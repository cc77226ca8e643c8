package dev.strata.core;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.RecordBatch;
import dev.strata.api.StorageException;
import dev.strata.api.StorageInUseException;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.testing.FaultInjectingObjectStorage;
import dev.strata.wal.OwnershipLock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One store at a time owns a WAL and a data directory (DESIGN, "Ownership of a WAL"): a second
 * open in the same JVM fails in {@code build()} with {@link StorageInUseException} naming the holder
 * and changes nothing, so the first store keeps every append it acknowledges. The cross-process
 * version is {@link CrashRecoveryTest#aSecondProcessCannotOpenTheStoreWhileTheFirstRunsAndLosesNothing}.
 */
class StoreOwnershipTest {

    @TempDir
    Path dir;

    private static RecordBatch batch(String text) {
        return RecordBatch.of(1, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
    }

    /** Issue 18, item 0: B's build used to succeed, fence A in the bucket and take A's acknowledged offsets. */
    @Test
    void aSecondStoreOnTheSameDataDirIsRefusedAndTheFirstLosesNothing() throws IOException {
        long id;
        try (DurableStreamStore a = StoreFixtures.small(dir).build()) {
            Stream s = await(a.createStream(StreamOptions.defaults()));
            id = s.id();
            await(s.append(batch("a0")));

            assertThatThrownBy(() -> StoreFixtures.small(dir).build())
                    .isInstanceOf(StorageInUseException.class)
                    .hasMessageContaining(dir.toRealPath().toString())
                    .hasMessageContaining("pid=" + ProcessHandle.current().pid());

            for (int i = 1; i <= 3; i++) {
                assertThat(await(s.append(batch("a" + i))).baseOffset()).isEqualTo(i);
            }
            await(a.flush()); // commits: A was not fenced by B's refused open
        }
        try (DurableStreamStore reopened = StoreFixtures.small(dir).build()) {
            Stream s = await(reopened.openStream(id, 1));
            assertThat(readAll(s)).containsExactly("a0", "a1", "a2", "a3");
        }
    }

    @Test
    void theSameWalFromAnotherDataDirAndTheSameDataDirWithAnotherWalAreRefused() throws IOException {
        Path wal = dir.resolve("shared.wal");
        Path dataA = Files.createDirectories(dir.resolve("a"));
        Path dataB = Files.createDirectories(dir.resolve("b"));
        try (DurableStreamStore a = StoreFixtures.small(dataA).walPath(wal).build()) {
            await(a.createStream(StreamOptions.defaults()));
            assertThatThrownBy(() -> StoreFixtures.small(dataB).walPath(wal).build())
                    .isInstanceOf(StorageInUseException.class)
                    .hasMessageContaining("WAL")
                    .hasMessageContaining(wal.getFileName().toString());
            assertThatThrownBy(() -> StoreFixtures.small(dataA).walPath(dir.resolve("other.wal")).build())
                    .isInstanceOf(StorageInUseException.class)
                    .hasMessageContaining("data directory");
            assertThat(Files.exists(dir.resolve("other.wal"))).as("a refused open creates no WAL").isFalse();
            assertThat(Files.exists(dataB.resolve("objects"))).as("a refused open touches no object store").isFalse();
        }
        // released at close: both open now, one after the other
        StoreFixtures.small(dataB).walPath(wal).build().close();
        StoreFixtures.small(dataA).walPath(dir.resolve("other.wal")).build().close();
    }

    @Test
    void aWalOpenedDirectlyIsAlsoRefusedToAStore() {
        Path wal = dir.resolve("direct.wal");
        try (OwnershipLock held = OwnershipLock.forWal(wal)) {
            assertThatThrownBy(() -> StoreFixtures.small(dir).walPath(wal).build())
                    .isInstanceOf(StorageInUseException.class);
            assertThat(held.isHeld()).isTrue();
        }
    }

    /** Issue 18, item 3: invalid settings fail before any side effect (no node registered, nothing fenced). */
    @Test
    void aBuildThatFailsForItsSettingsChangesNothing() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        try (DurableStreamStore a = StoreFixtures.small(data).walPath(dir.resolve("a.wal")).build()) {
            Stream s = await(a.createStream(StreamOptions.defaults()));
            await(s.append(batch("x")));
            await(a.flush());
            TreeMap<String, Long> before = listing(data.resolve("objects"));
            // Another WAL, the same bucket, a batch limit the chosen WAL cannot hold: refused for its settings.
            ObjectStorage shared = LocalObjectStorage.open(data.resolve("objects"));
            try {
                assertThatThrownBy(() -> Strata.builder().walPath(dir.resolve("b.wal")).objectStorage(shared)
                        .walCapacity(1L << 20).maxBatchBytes(1 << 20).build())
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("walCapacity")
                        .hasMessageContaining("maxBatchBytes");
            } finally {
                closeQuietly(shared);
            }
            assertThat(listing(data.resolve("objects"))).as("nothing written to the bucket").isEqualTo(before);
            assertThat(Files.exists(dir.resolve("b.wal"))).isFalse();
            await(s.append(batch("y")));
            await(a.flush()); // not fenced
        }
    }

    /**
     * A WAL the store cannot use (here: smaller than the walCapacity asked for) fails build() before
     * the node registration, so a live owner of the same bucket is not fenced by it.
     */
    @Test
    void aWalSmallerThanConfiguredFailsTheBuildWithoutFencingTheBucketsOwner() throws IOException {
        Path objects = Files.createDirectories(dir.resolve("bucket"));
        Path walB = dir.resolve("b.wal");
        Strata.Builder b = StoreFixtures.small(dir.resolve("b")).walPath(walB).objectStore(objects.toUri());
        b.build().close(); // B once had a 16 MiB WAL (the fixture's)
        try (DurableStreamStore a = StoreFixtures.small(dir.resolve("a")).walPath(dir.resolve("a.wal"))
                .objectStore(objects.toUri()).build()) {
            Stream s = await(a.createStream(StreamOptions.defaults()));
            TreeMap<String, Long> before = listing(objects);
            assertThatThrownBy(() -> b.walCapacity(64L << 20).build())
                    .isInstanceOf(StorageException.class)
                    .hasMessageContaining("walCapacity")
                    .hasMessageContaining(walB.getFileName().toString());
            assertThat(listing(objects)).as("nothing written to the bucket").isEqualTo(before);
            await(s.append(batch("still the owner")));
            await(a.flush()); // not fenced
        }
    }

    /** Issue 18, item 5: environment problems at open are StorageExceptions naming the setting and path. */
    @Test
    void environmentProblemsAtOpenAreStorageExceptionsNamingTheSettingAndPath() throws IOException {
        Path file = Files.writeString(dir.resolve("a-file"), "not a directory");
        assertThatThrownBy(() -> StoreFixtures.small(file).build())
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("dataDir")
                .hasMessageContaining(file.toString());
        assertThatThrownBy(() -> StoreFixtures.small(file.resolve("below")).build())
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("dataDir")
                .hasMessageContaining(file.toString());
        Path walDir = Files.createDirectories(dir.resolve("wal-is-a-dir"));
        assertThatThrownBy(() -> StoreFixtures.small(dir.resolve("d1")).walPath(walDir).build())
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("walPath")
                .hasMessageContaining(walDir.toString());
        assertThatThrownBy(() -> StoreFixtures.small(dir.resolve("d2")).walPath(file.resolve("x.wal")).build())
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("walPath")
                .hasMessageContaining(file.toString());
        // Nothing was left holding anything: the same directories open once fixed.
        StoreFixtures.small(dir.resolve("d1")).build().close();
    }

    /** Was: a raw CompletionException wrapping ObjectStorageException from the node registration. */
    @Test
    void aBucketThatRefusesWritesAtOpenIsAStorageException() throws IOException {
        Path data = Files.createDirectories(dir.resolve("ro"));
        try (DurableStreamStore first = StoreFixtures.small(data).build()) {
            await(first.createStream(StreamOptions.defaults())); // an existing store
        }
        LocalObjectStorage local = LocalObjectStorage.open(data.resolve("objects"));
        FaultInjectingObjectStorage readOnly = new FaultInjectingObjectStorage(local, 1)
                .failRate(Operation.PUT, 1.0, ObjectStorageException.Kind.PERMANENT);
        try {
            assertThatThrownBy(() -> StoreFixtures.small(data).objectStorage(readOnly).build())
                    .isInstanceOf(StorageException.class)
                    .isNotInstanceOf(StorageInUseException.class)
                    .hasMessageContaining("objectStore")
                    .satisfies(e -> assertThat(((StorageException) e).isRetriable()).isFalse());
        } finally {
            closeQuietly(local);
        }
        StoreFixtures.small(data).build().close(); // the refused open left nothing held
    }

    private static TreeMap<String, Long> listing(Path root) throws IOException {
        try (java.util.stream.Stream<Path> paths = Files.walk(root)) {
            return paths.filter(Files::isRegularFile).collect(Collectors.toMap(p -> root.relativize(p).toString(), p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, (x, y) -> x, TreeMap::new));
        }
    }

    private static List<String> readAll(Stream s) {
        List<String> out = new ArrayList<>();
        long offset = s.startOffset();
        while (offset < s.nextOffset()) {
            try (FetchResult r = await(s.fetch(offset, Long.MAX_VALUE, 1 << 20))) {
                for (FetchedBatch b : r.batches()) {
                    out.add(StandardCharsets.UTF_8.decode(b.payload()).toString());
                    offset = b.nextOffset();
                }
            }
        }
        return out;
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // test clean-up
        }
    }
}
