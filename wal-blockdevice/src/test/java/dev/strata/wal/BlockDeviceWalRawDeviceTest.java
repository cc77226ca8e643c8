package dev.strata.wal;

import static dev.strata.wal.WalTesting.append;
import static dev.strata.wal.WalTesting.bytes;
import static dev.strata.wal.WalTesting.recoverAll;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.wal.WalTesting.Rec;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The raw block device path (size and logical block size from sysfs, no preallocation). Runs only
 * with {@code -Dstrata.wal.testDevice=/dev/loopN}: it overwrites the device. Set one up with
 * {@code truncate -s 64M img && losetup -f --show img} (root).
 */
class BlockDeviceWalRawDeviceTest {

    @Test
    void walOnARawBlockDeviceUsesTheWholeDeviceAndRecovers() throws IOException {
        String device = System.getProperty("strata.wal.testDevice", "");
        Assumptions.assumeFalse(device.isEmpty(), "no -Dstrata.wal.testDevice=/dev/loopN given (needs root and a loop device)");
        Path dev = Path.of(device);
        try (RandomAccessFile f = new RandomAccessFile(dev.toFile(), "rw")) {
            f.write(new byte[2 * 65536]); // blank both header slots (any block size up to 64 KiB)
        }
        List<Rec> written = new ArrayList<>();
        try (BlockDeviceWal wal = BlockDeviceWal.open(WalOptions.builder(dev).build())) {
            assertThat(wal.capacity()).isGreaterThan(1 << 20);
            assertThat(wal.blockSize()).isGreaterThanOrEqualTo(4096);
            for (int i = 0; i < 20; i++) {
                written.add(append(wal, bytes(i, 1000 * i + 1)));
            }
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(WalOptions.builder(dev).build())) {
            WalTesting.assertSameRecords(recoverAll(wal), written);
        }
    }
}
