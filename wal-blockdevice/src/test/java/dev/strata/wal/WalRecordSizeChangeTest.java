package dev.strata.wal;

import static dev.strata.wal.WalTesting.append;
import static dev.strata.wal.WalTesting.bytes;
import static dev.strata.wal.WalTesting.recoverAll;

import dev.strata.wal.WalTesting.Rec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A WAL written with large records (a large {@code maxBatchBytes}, so large write buffers) and
 * reopened with smaller ones (the setting lowered, or left at its default) still recovers every
 * record: the recovery scan grows its buffer for a record larger than the WAL now writes, instead
 * of taking it for damage and losing everything after it.
 */
class WalRecordSizeChangeTest {
    @TempDir
    Path dir;

    @Test
    void recordsLargerThanTheCurrentWriteBufferAreRecoveredAfterTheSettingIsLowered() {
        Path path = dir.resolve("wal.dat");
        List<Rec> written = new ArrayList<>();
        try (BlockDeviceWal wal = BlockDeviceWal.open(WalOptions.builder(path).capacityBytes(64L << 20)
                .writeBufferBytes(8 << 20).build())) {
            written.add(append(wal, bytes(1, 5 << 20)));
            written.add(append(wal, bytes(2, 100)));
            written.add(append(wal, bytes(3, 6 << 20)));
            written.add(append(wal, bytes(4, 100)));
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(WalOptions.builder(path).capacityBytes(64L << 20).build())) {
            WalTesting.assertSameRecords(recoverAll(wal), written);
            written.add(append(wal, bytes(5, 1000))); // and it goes on after them
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(WalOptions.builder(path).capacityBytes(64L << 20).build())) {
            WalTesting.assertSameRecords(recoverAll(wal), written);
        }
    }
}
