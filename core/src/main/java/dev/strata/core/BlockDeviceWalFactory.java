package dev.strata.core;

import dev.strata.api.StorageException;
import dev.strata.core.settings.WalSettings;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.wal.BlockDeviceWal;
import dev.strata.wal.OwnershipLock;
import dev.strata.wal.WalOptions;
import dev.strata.wal.api.WalFactory;
import dev.strata.wal.api.WalSizes;
import dev.strata.wal.api.WriteAheadLog;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * The store's default {@link WalFactory}: the block-device WAL at {@code walPath} or
 * {@code dataDir/wal/strata.wal}, with the block-device settings ({@code walBackend},
 * {@code unsafeSkipWalSync}), and the checks only a block-device WAL needs. Opens in this order: the
 * file's parent directory, the WAL's {@link OwnershipLock} (before anything else touches the file), the
 * WAL, then the checks; whatever fails closes what was opened (the lock included) and throws.
 *
 * <p>Thread-safety: immutable; {@link #open} runs on the opening thread.
 */
final class BlockDeviceWalFactory implements WalFactory {
    private final Path walFile;
    private final WalSettings settings;
    private final Function<WalOptions, BlockDeviceWal> opener;

    /**
     * @param opener how the WAL is opened from its options: {@code BlockDeviceWal::open}, or a test's
     *     fault-injecting one ({@code Strata.Builder#walOpener})
     */
    BlockDeviceWalFactory(Path walFile, WalSettings settings, Function<WalOptions, BlockDeviceWal> opener) {
        this.walFile = walFile;
        this.settings = settings;
        this.opener = opener;
    }

    /**
     * @throws dev.strata.api.StorageInUseException if another store has the WAL open
     * @throws StorageException if the WAL cannot be created or opened, a WAL file is smaller than
     *     {@code walCapacity}, or its block size leaves no room for the largest batch
     */
    @Override
    public WriteAheadLog open(WalSizes sizes) {
        if (walFile.toAbsolutePath().getParent() != null) {
            StoreOpener.createDirectories(walFile.toAbsolutePath().getParent(), "walPath");
        }
        OwnershipLock lock = OwnershipLock.forWal(walFile); // also refuses a directory, naming walPath
        BlockDeviceWal wal;
        try {
            wal = opener.apply(WalOptions.builder(walFile)
                    .capacityBytes(sizes.capacityBytes())
                    .writeBufferBytes(sizes.writeBufferBytes())
                    .backend(settings.backend())
                    .unsafeSkipSync(settings.unsafeSkipSync())
                    .callerWritesWhenIdle(settings.callerWritesWhenIdle())
                    .ownershipLock(lock)
                    .build());
        } catch (RuntimeException | Error e) {
            lock.close();
            throw e;
        }
        try {
            check(wal, sizes);
        } catch (RuntimeException | Error e) {
            wal.close();
            lock.close(); // the WAL took it over and released it; closing it again is harmless
            throw e;
        }
        return wal;
    }

    private void check(BlockDeviceWal wal, WalSizes sizes) {
        if (!wal.isBlockDevice() && wal.capacity() < sizes.capacityBytes()) {
            // An existing WAL file keeps the capacity it was made with; less than asked for is
            // less room to ride out an object-store outage than the operator planned.
            throw new StorageException("walCapacity: the WAL file " + walFile + " has capacity " + wal.capacity()
                    + " bytes, less than walCapacity (" + sizes.capacityBytes() + "): set walCapacity("
                    + wal.capacity() + ") to use it as it is", false);
        }
        if (sizes.maxRecordBytes() > wal.maxRecordBytes()) { // only on a device with blocks over 64 KiB
            throw new StorageException("maxBatchBytes (" + (sizes.maxRecordBytes() - StreamBatchCodec.headerSize())
                    + ") does not fit in one write of the WAL " + walFile + " (block size " + wal.blockSize()
                    + "): it allows batches up to " + (wal.maxRecordBytes() - StreamBatchCodec.headerSize())
                    + " bytes", false);
        }
    }

    @Override
    public String toString() {
        return "block-device WAL " + walFile;
    }
}
