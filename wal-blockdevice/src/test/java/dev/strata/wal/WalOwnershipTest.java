package dev.strata.wal;

import static dev.strata.wal.WalTesting.append;
import static dev.strata.wal.WalTesting.bytes;
import static dev.strata.wal.WalTesting.recoverAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.StorageException;
import dev.strata.api.StorageInUseException;
import dev.strata.wal.WalTesting.Rec;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One open WAL per file or device (DESIGN, "Ownership of a WAL"): a second open, from this JVM or
 * from another process, fails with {@link StorageInUseException} naming the holder and changes
 * nothing; the lock goes with the holder's close or death (SIGKILL included).
 */
class WalOwnershipTest {
    private static final long CAPACITY = 1L << 20;

    @TempDir
    Path dir;

    private static WalOptions options(Path path) {
        return WalOptions.builder(path).capacityBytes(CAPACITY).build();
    }

    @Test
    void aSecondOpenInThisJvmIsRefusedAndTheFirstKeepsWorking() {
        Path path = dir.resolve("wal.dat");
        List<Rec> written = new ArrayList<>();
        try (BlockDeviceWal first = BlockDeviceWal.open(options(path))) {
            written.add(append(first, bytes(1, 1000)));
            assertThatThrownBy(() -> BlockDeviceWal.open(options(path)))
                    .isInstanceOf(StorageInUseException.class)
                    .hasMessageContaining(path.getFileName().toString())
                    .hasMessageContaining("pid=" + ProcessHandle.current().pid());
            // through another name of the same file, too
            Path alias = dir.resolve("alias.dat");
            try {
                Files.createSymbolicLink(alias, path);
            } catch (IOException e) {
                throw new AssertionError(e);
            }
            assertThatThrownBy(() -> BlockDeviceWal.open(options(alias))).isInstanceOf(StorageInUseException.class);
            // the refused opens closed no descriptor of the holder's: its writes still succeed
            written.add(append(first, bytes(2, 5000)));
        }
        try (BlockDeviceWal reopened = BlockDeviceWal.open(options(path))) {
            WalTesting.assertSameRecords(recoverAll(reopened), written);
        }
    }

    @Test
    void aWalHeldByAnotherProcessIsRefusedNamingItsPidAndFreedWhenItIsKilled() throws Exception {
        Path path = dir.resolve("wal.dat");
        Process child = WalHolderChild.start(path, CAPACITY);
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String ready = out.readLine();
            assertThat(ready).isEqualTo("READY " + child.pid());
            long before = Files.size(path);
            assertThatThrownBy(() -> BlockDeviceWal.open(options(path)))
                    .isInstanceOf(StorageInUseException.class)
                    .hasMessageContaining("another process")
                    .hasMessageContaining("pid=" + child.pid());
            assertThat(Files.size(path)).isEqualTo(before);
        } finally {
            child.destroyForcibly(); // SIGKILL: the kernel drops the lock with the process
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(path))) {
            assertThat(recoverAll(wal)).hasSize(1);
        }
    }

    @Test
    void aDirectoryIsNotAWal() throws IOException {
        Path d = Files.createDirectories(dir.resolve("d"));
        assertThatThrownBy(() -> BlockDeviceWal.open(options(d)))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("is a directory");
    }

    /**
     * The block-device path: the device node itself is locked (nothing can be created beside it).
     * Needs root and a loop device: it sets one up with {@code losetup}, and skips where it cannot.
     */
    @Test
    void aBlockDeviceIsLockedToo() throws Exception {
        Path image = dir.resolve("device.img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(8L << 20);
        }
        String device = run("losetup", "-f", "--show", image.toString());
        Assumptions.assumeTrue(device != null && device.startsWith("/dev/loop"), "no loop device here (needs root)");
        try {
            Path dev = Path.of(device);
            Process child = WalHolderChild.start(dev, CAPACITY);
            try {
                BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
                assertThat(out.readLine()).isEqualTo("READY " + child.pid());
                assertThatThrownBy(() -> BlockDeviceWal.open(options(dev)))
                        .isInstanceOf(StorageInUseException.class)
                        .hasMessageContaining(device)
                        .hasMessageContaining("pid=" + child.pid());
            } finally {
                child.destroyForcibly();
                assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
            }
            try (BlockDeviceWal wal = BlockDeviceWal.open(options(dev))) {
                assertThat(wal.isBlockDevice()).isTrue();
                assertThat(recoverAll(wal)).hasSize(1);
                assertThatThrownBy(() -> BlockDeviceWal.open(options(dev))).isInstanceOf(StorageInUseException.class);
            }
        } finally {
            run("losetup", "-d", device);
        }
    }

    /** Runs a command; its first output line, or null if it could not run or failed. */
    private static String run(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0 ? line : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
