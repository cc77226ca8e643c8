package dev.strata.cli;

import static dev.strata.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.core.DurableStreamStore;
import dev.strata.wal.WalInspector;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * dump-wal and verify on a WAL holding records not yet uploaded (the store is open, with uploads
 * an hour apart), and on copies of it that were truncated or had a byte flipped.
 */
class WalCommandsTest {

    @TempDir
    static Path dir;
    static DurableStreamStore store;
    static Path wal;
    static List<Long> streams;

    @BeforeAll
    static void openStoreWithDataInTheWal() {
        store = CliTestSupport.builder(dir).build();
        streams = CliTestSupport.fill(store, 1, 6); // each append durable before the next: one write each
        wal = dir.resolve("wal").resolve("strata.wal");
    }

    @AfterAll
    static void close() {
        store.close();
    }

    private static Path copyOfWal(Path target) throws IOException {
        Path copy = target.resolve("copy.wal");
        Files.copy(wal, copy);
        return copy;
    }

    private static List<WalInspector.Record> records(Path path) throws IOException {
        List<WalInspector.Record> out = new ArrayList<>();
        WalInspector.inspect(path, r -> out.add(new WalInspector.Record(r.position(), r.nextPosition(), r.generation(),
                r.durableMark(), r.flags(), null)));
        return out;
    }

    @Test
    void dumpWalListsRecordsWithDurableMarksAndTheirBatches() {
        CliTestSupport.Result r = run("dump-wal", wal);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        long id = streams.get(0);
        for (int i = 0; i < 6; i++) {
            assertThat(r.out()).contains("streamId=" + id + " epoch=").contains("offsets=[" + i + "," + (i + 1) + ")");
        }
        assertThat(r.out()).contains("durableMark=").contains("6 records").containsPattern("slot [01] @[0-9]+: VALID")
                .contains("closedEnd=open");
        CliTestSupport.Result j = run("dump-wal", "--json", wal);
        assertThat(j.exitCode()).isZero();
        assertThat(j.out()).contains("\"durableMark\"").contains("\"endReason\"").contains("\"ok\": true");
    }

    @Test
    void verifyAcceptsTheLiveWal() {
        CliTestSupport.Result r = run("verify", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("6 records after the trim point");
    }

    @Test
    void aTruncatedWalIsFound(@TempDir Path tmp) throws IOException {
        Path copy = copyOfWal(tmp);
        List<WalInspector.Record> records = records(copy);
        WalInspector.Result header = WalInspector.inspect(copy, r -> { });
        long dataOffset = 2L * header.header().blockSize();
        long cut = dataOffset + records.get(3).position();
        try (FileChannel ch = FileChannel.open(copy, StandardOpenOption.WRITE)) {
            ch.truncate(cut);
        }
        CliTestSupport.Result r = run("verify", "--data-dir", dir, "--wal-path", copy);
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.out()).contains("PROBLEM wal-truncated " + copy + ": file has " + cut + " bytes");
        CliTestSupport.Result dump = run("dump-wal", copy);
        assertThat(dump.exitCode()).as(dump.toString()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(dump.out()).contains("3 records");
    }

    @Test
    void aCorruptRecordInsideTheLogIsFoundAsLostAcknowledgedData(@TempDir Path tmp) throws IOException {
        Path copy = copyOfWal(tmp);
        List<WalInspector.Record> records = records(copy);
        WalInspector.Result header = WalInspector.inspect(copy, r -> { });
        long dataOffset = 2L * header.header().blockSize();
        long damaged = records.get(1).position();
        CliTestSupport.flipByte(copy, dataOffset + damaged + 44 + 10); // inside record 1's body

        CliTestSupport.Result r = run("verify", "--data-dir", dir, "--wal-path", copy);
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.out()).contains("PROBLEM wal-lost-data " + copy + ": acknowledged bytes [" + damaged + ","
                + records.get(2).position() + ") lost: found=BODY_CRC_MISMATCH");
        CliTestSupport.Result dump = run("dump-wal", copy);
        assertThat(dump.exitCode()).as(dump.toString()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(dump.out()).contains("5 records").contains("wal-lost-data");
    }

    @Test
    void aDamagedHeaderSlotIsFound(@TempDir Path tmp) throws IOException {
        Path copy = copyOfWal(tmp);
        WalInspector.Result before = WalInspector.inspect(copy, r -> { });
        int validSlot = before.slots().stream().filter(s -> s.state() == WalInspector.SlotState.VALID)
                .mapToInt(WalInspector.Slot::slot).findFirst().orElseThrow();
        CliTestSupport.flipByte(copy, before.slots().get(validSlot).deviceOffset() + 20);
        CliTestSupport.Result r = run("dump-wal", copy);
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.out()).contains("slot " + validSlot + " @").contains("INVALID (CRC mismatch");
    }
}
