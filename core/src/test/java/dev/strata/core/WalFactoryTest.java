package dev.strata.core;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.StorageException;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.settings.InvalidSettingException;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.objectstore.testing.FaultInjectingObjectStorage;
import dev.strata.testkit.Futures;
import dev.strata.wal.BlockDeviceWal;
import dev.strata.wal.WalOptions;
import dev.strata.wal.api.WalFactory;
import dev.strata.wal.api.WalSizes;
import dev.strata.wal.api.WriteAheadLog;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code Strata.builder().wal(WalFactory)}: the store opens its WAL through the factory with the sizes
 * it computed, assigns the node epoch, replays, appends and trims through {@link WriteAheadLog} only,
 * and owns the WAL (closes it with the store, and when the open fails). Proven with the block-device
 * WAL passed through the factory, in a store that has no data directory.
 */
class WalFactoryTest {

    @TempDir
    Path dir;

    /** A factory that opens a block-device WAL at {@code file} and remembers what it was given and made. */
    private static final class RecordingFactory implements WalFactory {
        final Path file;
        final int writeBufferBytes; // 0: as the store asks
        final List<WalSizes> asked = new ArrayList<>();
        final List<WriteAheadLog> opened = new ArrayList<>();

        RecordingFactory(Path file, int writeBufferBytes) {
            this.file = file;
            this.writeBufferBytes = writeBufferBytes;
        }

        @Override
        public WriteAheadLog open(WalSizes sizes) {
            asked.add(sizes);
            int buffer = writeBufferBytes > 0 ? writeBufferBytes : sizes.writeBufferBytes();
            WriteAheadLog wal = BlockDeviceWal.open(WalOptions.builder(file).capacityBytes(sizes.capacityBytes())
                    .writeBufferBytes(buffer).groupCommitBytes(Math.min(buffer, WalOptions.DEFAULT_GROUP_COMMIT_BYTES))
                    .build());
            opened.add(wal);
            return wal;
        }
    }

    /** The small preset's sizes without a data directory: objects in {@code objects}, the WAL from {@code wal}. */
    private Strata.Builder noDataDir(WalFactory wal) {
        return sizes(Strata.builder().objectStore(dir.resolve("objects").toUri()).wal(wal));
    }

    private static Strata.Builder sizes(Strata.Builder builder) {
        return builder
                .walCapacity(16L << 20)
                .logCacheBytes(8L << 20)
                .blockCacheBytes(4L << 20)
                .maxInFlightReadBytes(2L << 20)
                .uploadThresholdBytes(4L << 20)
                .uploadInterval(Duration.ofHours(1)) // nothing uploads by age
                .closeUploadTimeout(Duration.ZERO)
                .maxBatchBytes(StoreFixtures.MAX_BATCH_BYTES)
                .objectBlockBytes(16 * 1024);
    }

    @Test
    void aStoreWithoutADataDirectoryRunsOnTheFactorysWalAndReplaysIt() throws Exception {
        RecordingFactory factory = new RecordingFactory(dir.resolve("elsewhere").resolve("wal.dat"), 0);
        Files.createDirectories(factory.file.getParent());
        long streamId;
        try (LocalObjectStorage local = LocalObjectStorage.open(dir.resolve("objects"))) {
            FaultInjectingObjectStorage faulty = new FaultInjectingObjectStorage(local, 24);
            Strata.Builder builder = sizes(Strata.builder().objectStorage(faulty).wal(factory));
            Strata.Builder.Sizes planned = builder.resolveSizes();
            try (DurableStreamStore store = builder.build()) {
                assertThat(factory.asked).as("the store opened its WAL once, through the factory").hasSize(1);
                assertThat(factory.asked.get(0)).isEqualTo(new WalSizes(planned.walCapacityBytes(),
                        planned.maxBatchBytes() + StreamBatchCodec.headerSize(), planned.walWriteBufferBytes()));
                assertThat(store.recoveryReport().wal().nodeEpoch()).as("a new WAL").isZero();
                WriteAheadLog wal = factory.opened.get(0);
                Stream s = await(store.createStream(StreamOptions.defaults()));
                streamId = s.id();
                for (Operation op : List.of(Operation.PUT, Operation.MULTIPART_CREATE, Operation.MULTIPART_UPLOAD_PART,
                        Operation.MULTIPART_COMPLETE)) {
                    faulty.failRate(op, 1.0, ObjectStorageException.Kind.TRANSIENT); // nothing is uploaded
                }
                long before = wal.writePosition();
                DurableStreamStoreTest.appendDerived(s, 40);
                assertThat(wal.writePosition()).as("the appends went to the factory's WAL").isGreaterThan(before);
            }
            WriteAheadLog closed = factory.opened.get(0);
            Throwable afterClose = closed.append(Unpooled.wrappedBuffer(new byte[] {1})).handle((r, e) -> e).join();
            assertThat(Futures.unwrap(afterClose)).as("the store closed the WAL it opened")
                    .isInstanceOf(StorageException.class);
        }
        try (DurableStreamStore store = noDataDir(factory).build()) {
            assertThat(factory.asked).hasSize(2);
            StoreRecoveryReport report = store.recoveryReport();
            assertThat(report.recordsReplayed()).as("the batches replayed from the factory's WAL").isEqualTo(40);
            assertThat(report.wal().nodeEpoch()).as("the WAL was written under the epoch the first store registered"
                    + " with (assignNodeEpoch)").isPositive();
            assertThat(DurableStreamStoreTest.verifyDerived(await(store.openStream(streamId, 0)))).isEqualTo(40);
        }
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).collect(Collectors.toSet()))
                    .as("no data directory: only the object store and the factory's WAL")
                    .containsExactlyInAnyOrder("objects", "elsewhere");
        }
    }

    @Test
    void aGivenWalThatCannotHoldTheLargestBatchIsRefusedAndClosed() throws IOException {
        RecordingFactory factory = new RecordingFactory(dir.resolve("wal.dat"), 64 << 10); // records up to ~64 KiB
        int maxBatchBytes = 256 << 10;
        assertThatThrownBy(() -> noDataDir(factory).maxBatchBytes(maxBatchBytes).build())
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("maxBatchBytes (" + maxBatchBytes + ") does not fit in one record");
        assertThat(factory.opened).hasSize(1);
        // closed by the store: its lock is free again
        BlockDeviceWal.open(WalOptions.builder(factory.file).capacityBytes(16L << 20).build()).close();
    }

    @Test
    void aWalFactoryThatFailsLeavesTheDataDirectoryFree() {
        Path data = dir.resolve("data");
        StorageException injected = new StorageException("injected: no WAL today", false);
        assertThatThrownBy(() -> StoreFixtures.small(data).wal(sizes -> {
            throw injected;
        }).build()).isSameAs(injected);
        StoreFixtures.small(data).build().close();
    }

    @Test
    void aGivenWalExcludesTheBlockDeviceWalsSettingsAndNothingIsOpened() {
        RecordingFactory factory = new RecordingFactory(dir.resolve("wal.dat"), 0);
        assertConflict(() -> noDataDir(factory).walPath(dir.resolve("other.wal")).build(), "walPath");
        assertConflict(() -> noDataDir(factory).walBackend(WalOptions.Backend.BUFFERED).build(), "walBackend");
        assertConflict(() -> noDataDir(factory).unsafeSkipWalSync(true).build(), "unsafeSkipWalSync");
        assertConflict(() -> noDataDir(factory).walOpener(BlockDeviceWal::open).build(), "walOpener");
        assertThat(factory.asked).as("settings are checked before the WAL is opened").isEmpty();
        assertThatThrownBy(() -> Strata.builder().wal(factory).build())
                .isInstanceOfSatisfying(InvalidSettingException.class,
                        e -> assertThat(e.settings()).containsExactly("objectStore"));
    }

    private static void assertConflict(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String setting) {
        assertThatThrownBy(call).isInstanceOfSatisfying(InvalidSettingException.class,
                e -> assertThat(e.settings()).containsExactly(setting, "wal"));
    }
}
