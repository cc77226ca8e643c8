package dev.strata.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.StorageException;
import dev.strata.api.StorageInUseException;
import dev.strata.core.settings.WalSettings;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.wal.BlockDeviceWal;
import dev.strata.wal.WalOptions;
import dev.strata.wal.api.WalSizes;
import dev.strata.wal.api.WriteAheadLog;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store's default WAL factory: the block-device WAL with its own lock and the checks only it needs
 * (an existing file's capacity, the block size); a WAL it refuses is closed, lock included.
 */
class BlockDeviceWalFactoryTest {
    private static final long MIB = 1L << 20;

    @TempDir
    Path dir;

    private static WalSizes sizes(long capacity) {
        return new WalSizes(capacity, 64 * 1024 + StreamBatchCodec.headerSize(), 256 << 10);
    }

    @Test
    void opensTheWalWithTheSizesAndItsSettingsAndHoldsItsLock() {
        Path file = dir.resolve("wal").resolve("strata.wal"); // the parent is created
        List<WalOptions> options = new ArrayList<>();
        BlockDeviceWalFactory factory = new BlockDeviceWalFactory(file, new WalSettings(java.util.OptionalLong.empty(),
                WalOptions.Backend.BUFFERED, false), o -> {
                    options.add(o);
                    return BlockDeviceWal.open(o);
                });
        try (WriteAheadLog wal = factory.open(sizes(16 * MIB))) {
            assertThat(wal.capacity()).isEqualTo(16 * MIB);
            assertThat(wal.backend()).isEqualTo("filechannel-buffered");
            assertThat(options.get(0).writeBufferBytes()).isEqualTo(256 << 10);
            assertThat(options.get(0).ownershipLock()).as("the factory took the WAL's lock first").isNotNull();
            assertThatThrownBy(() -> factory.open(sizes(16 * MIB))).isInstanceOf(StorageInUseException.class);
        }
        factory.open(sizes(16 * MIB)).close();
    }

    @Test
    void anExistingWalFileSmallerThanWalCapacityIsRefusedAndClosed() {
        Path file = dir.resolve("strata.wal");
        BlockDeviceWalFactory factory = new BlockDeviceWalFactory(file, WalSettings.defaults(), BlockDeviceWal::open);
        try (WriteAheadLog wal = factory.open(sizes(16 * MIB))) {
            wal.recoveryReport(); // initializes the WAL: its header now says 16 MiB
        }
        assertThatThrownBy(() -> factory.open(sizes(32 * MIB)))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("walCapacity: the WAL file " + file + " has capacity " + 16 * MIB)
                .hasMessageContaining("set walCapacity(" + 16 * MIB + ")");
        try (WriteAheadLog wal = factory.open(sizes(16 * MIB))) { // the refused one released the lock
            assertThat(wal.capacity()).isEqualTo(16 * MIB);
        }
    }

    @Test
    void aWalThatCannotOpenReleasesTheLock() {
        Path file = dir.resolve("strata.wal");
        StorageException injected = new StorageException("injected", false);
        assertThatThrownBy(() -> new BlockDeviceWalFactory(file, WalSettings.defaults(), o -> {
            throw injected;
        }).open(sizes(16 * MIB))).isSameAs(injected);
        new BlockDeviceWalFactory(file, WalSettings.defaults(), BlockDeviceWal::open).open(sizes(16 * MIB)).close();
    }
}
