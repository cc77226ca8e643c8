package dev.strata.wal;

import static dev.strata.wal.WalTesting.append;
import static dev.strata.wal.WalTesting.bytes;
import static dev.strata.wal.WalTesting.options;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** WalInspector reads a WAL that is open (and locked) in this process, without disturbing it. */
class WalInspectorTest {

    @TempDir
    Path dir;

    @Test
    void showsTheRecordsOfAnOpenWalWithTheirDurableMarksAndKeepsItWorking() throws IOException {
        Path file = dir.resolve("wal.dat");
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.DIRECT).build())) {
            List<WalTesting.Rec> written = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                written.add(append(wal, bytes(i, 100 + 1000 * i))); // awaited one by one: one write each
            }
            List<WalInspector.Record> seen = new ArrayList<>();
            List<byte[]> bodies = new ArrayList<>();
            WalInspector.Result result = WalInspector.inspect(file, r -> {
                seen.add(r);
                byte[] b = new byte[r.body().remaining()];
                r.body().duplicate().get(b);
                bodies.add(b);
            });

            assertThat(result.header()).isNotNull();
            assertThat(result.header().closedEnd()).isEqualTo(-1); // open generation
            assertThat(result.truncated()).isFalse();
            assertThat(result.scan().records()).isEqualTo(5);
            assertThat(result.scan().acknowledgedDataLost()).isFalse();
            for (int i = 0; i < 5; i++) {
                assertThat(seen.get(i).position()).isEqualTo(written.get(i).position());
                assertThat(Arrays.equals(bodies.get(i), bytes(i, 100 + 1000 * i))).as("body %d", i).isTrue();
                // each append was durable before the next was written: its mark covers the previous record
                assertThat(seen.get(i).durableMark()).isEqualTo(i == 0 ? 0 : written.get(i - 1).nextPosition());
            }
            // the WAL is still the owner's: it keeps appending after the inspection
            WalTesting.Rec after = append(wal, bytes(9, 10));
            assertThat(after.position()).isEqualTo(written.get(4).nextPosition());
        }
    }

    @Test
    void reportsATruncatedFileAndBlankSlotsWithoutCreatingAnything() throws IOException {
        Path file = dir.resolve("wal.dat");
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.DIRECT).build())) {
            append(wal, bytes(1, 10));
        }
        long size = Files.size(file);
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(size / 2);
        }
        Path blank = dir.resolve("blank.dat");
        Files.write(blank, new byte[64 * 1024]);
        List<String> before = names();
        WalInspector.Result r = WalInspector.inspect(file, x -> { });
        assertThat(r.truncated()).isTrue();
        assertThat(r.expectedBytes()).isEqualTo(size);

        WalInspector.Result b = WalInspector.inspect(blank, x -> { });
        assertThat(b.header()).isNull();
        assertThat(b.slots()).extracting(WalInspector.Slot::state)
                .containsExactly(WalInspector.SlotState.EMPTY, WalInspector.SlotState.EMPTY);
        assertThat(names()).isEqualTo(before); // no lock file, no preallocation, nothing created
        assertThat(Files.size(file)).isEqualTo(size / 2);
    }

    private List<String> names() throws IOException {
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
