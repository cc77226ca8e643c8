package dev.strata.wal;

import static dev.strata.wal.WalTesting.append;
import static dev.strata.wal.WalTesting.bytes;
import static dev.strata.wal.WalTesting.recoverAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.StorageException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A new WAL file is preallocated under another name and renamed when complete (issue 18, item 11):
 * a kill while preallocating leaves nothing under the WAL's name, and the next open starts again; a
 * never-initialized file smaller than configured (what older versions left after such a kill) is
 * refused with a message that says so; no space while preallocating is a retriable "no space" error
 * that leaves no file behind.
 */
class WalPreallocationTest {
    private static final long BIG = 1L << 30;

    @TempDir
    Path dir;

    @Test
    void aKillWhilePreallocatingLeavesNoWalAndTheNextOpenCreatesAWholeOne() throws Exception {
        Path path = dir.resolve("wal.dat");
        Path temp = WalFile.preallocationPath(path);
        Process child = WalHolderChild.start(path, BIG);
        boolean sawPartial = false;
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            // Watch the other process's progress: kill it once the partial file has some bytes.
            while (System.nanoTime() < deadline && child.isAlive() && !Files.exists(path)) {
                if (Files.exists(temp) && sizeOrZero(temp) >= (8 << 20)) {
                    child.destroyForcibly();
                    sawPartial = true;
                    break;
                }
                Thread.onSpinWait();
            }
        } finally {
            child.destroyForcibly();
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
        Assumptions.assumeTrue(sawPartial, "the child finished preallocating before it could be killed");
        assertThat(Files.exists(path)).as("nothing under the WAL's name after a kill while preallocating").isFalse();
        try (BlockDeviceWal wal = BlockDeviceWal.open(WalOptions.builder(path).capacityBytes(BIG).build())) {
            assertThat(wal.capacity()).isEqualTo(BIG);
            append(wal, bytes(1, 100));
        }
        assertThat(Files.exists(temp)).as("the partial file was deleted").isFalse();
        assertThat(Files.size(path)).isGreaterThan(BIG);
        try (BlockDeviceWal wal = BlockDeviceWal.open(WalOptions.builder(path).capacityBytes(BIG).build())) {
            assertThat(recoverAll(wal)).hasSize(1);
        }
    }

    /** What earlier versions left under the WAL's name when killed while preallocating: blank and short. */
    @ParameterizedTest
    @ValueSource(longs = {0, 1 << 20, 9 << 20, 140L << 20})
    void aNeverInitializedFileSmallerThanConfiguredIsRefusedSayingSo(long size) throws IOException {
        Path path = dir.resolve("wal.dat");
        try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "rw")) {
            f.setLength(size);
        }
        assertThatThrownBy(() -> BlockDeviceWal.open(WalOptions.builder(path).capacityBytes(BIG).build()))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("smaller than configured")
                .hasMessageContaining("bytes=" + size)
                .hasMessageContaining("delete it");
        assertThat(Files.size(path)).as("left as it was").isEqualTo(size);
    }

    @Test
    void noSpaceWhilePreallocatingIsARetriableNoSpaceErrorAndLeavesNoFile() throws Exception {
        Path mount = Files.createDirectories(dir.resolve("small"));
        Assumptions.assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mount.toString()),
                "cannot mount a small tmpfs here (needs root)");
        try {
            Path path = mount.resolve("wal.dat");
            assertThatThrownBy(() -> BlockDeviceWal.open(WalOptions.builder(path).capacityBytes(64L << 20).build()))
                    .isInstanceOfSatisfying(StorageException.class, e -> assertThat(e.isRetriable()).isTrue())
                    .hasMessageContaining("no space left")
                    .hasMessageContaining("walCapacity");
            try (var files = Files.list(mount)) {
                assertThat(files.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".lock")))
                        .as("no WAL, no partial file").isEmpty();
            }
            // and a WAL that fits opens there (the failed open released its lock)
            try (BlockDeviceWal wal = BlockDeviceWal.open(WalOptions.builder(path).capacityBytes(1L << 20).build())) {
                append(wal, bytes(3, 100));
            }
        } finally {
            run("umount", mount.toString());
        }
    }

    private static long sizeOrZero(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return 0;
        }
    }

    private static boolean run(String... command) throws InterruptedException {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        }
    }
}
