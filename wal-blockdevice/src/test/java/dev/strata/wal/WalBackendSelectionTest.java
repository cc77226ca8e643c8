package dev.strata.wal;

import static dev.strata.wal.WalTesting.append;
import static dev.strata.wal.WalTesting.bytes;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which backend AUTO picks, and that the choice is queryable. */
class WalBackendSelectionTest {

    @TempDir
    Path dir;

    @Test
    void autoPicksIoUringWhereAvailableElseFileChannelDirect() {
        String expected = BlockDeviceWal.uringUnavailableReason().isEmpty() ? "io_uring" : "filechannel-direct";
        try (BlockDeviceWal wal = BlockDeviceWal.open(WalOptions.builder(dir.resolve("wal.dat"))
                .capacityBytes(1 << 20).writeBufferBytes(1 << 16).groupCommitBytes(1 << 15).build())) {
            assertThat(wal.backend()).isEqualTo(expected);
            append(wal, bytes(1, 100));
        }
    }

    @Test
    void withoutNativeAccessIoUringIsUnavailableWithTheReason() throws IOException, InterruptedException {
        Assumptions.assumeTrue(Runtime.version().feature() >= 22, "io_uring needs JDK 22+; this JVM is "
                + Runtime.version().feature());
        Process p = new ProcessBuilder(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), UringReasonMain.class.getName()))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out).contains("REASON native access not enabled");
        assertThat(out).contains("PWRITE native access not enabled");
    }

    /** Child: prints why io_uring is unavailable. */
    public static final class UringReasonMain {
        public static void main(String[] args) {
            System.out.println("REASON " + BlockDeviceWal.uringUnavailableReason().orElse("available"));
            System.out.println("PWRITE " + BlockDeviceWal.pwriteUnavailableReason().orElse("available"));
        }
    }
}
