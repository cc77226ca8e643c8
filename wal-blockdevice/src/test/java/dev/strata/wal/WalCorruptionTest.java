package dev.strata.wal;

import static dev.strata.wal.WalTesting.append;
import static dev.strata.wal.WalTesting.bytes;
import static dev.strata.wal.WalTesting.options;
import static dev.strata.wal.WalTesting.recoverAll;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.wal.WalTesting.Rec;
import dev.strata.wal.api.RecoveryReport.StopReason;
import dev.strata.wal.api.RecoveryReport;
import dev.strata.wal.api.WalAppendResult;
import dev.strata.wal.api.WalRecord;
import dev.strata.wal.api.WalRecovery;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Torn and corrupt writes: damage at every block boundary of a recovered region, then check that
 * recovery never returns a damaged record, returns every intact record before the damage, and
 * past damage that a later write proves had been acknowledged, returns the intact records after it
 * and reports the lost region (regression test for a zeroed block inside the log silently ending
 * recovery: RELIABILITY.md, bug 2).
 */
class WalCorruptionTest {

    private static final int BLOCK = 4096;
    private static final long CAPACITY = 1 << 20;

    @TempDir
    Path dir;

    private Path original;
    private final List<Rec> written = new ArrayList<>();
    private long dataOffset;
    private long regionEnd;

    @BeforeEach
    void writeRecords() {
        original = dir.resolve("original.dat");
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(original, WalOptions.Backend.DIRECT).build())) {
            assertThat(wal.blockSize()).isEqualTo(BLOCK);
            dataOffset = 2L * wal.blockSize();
            for (int i = 0; i < 24; i++) {
                // sizes from tiny to several blocks; awaited one by one so each is its own write
                written.add(append(wal, bytes(i, 1 + (i * 2731) % 9000)));
            }
            regionEnd = written.get(written.size() - 1).nextPosition();
        }
    }

    enum Damage { TRUNCATE, ZERO_BLOCK, FLIP_FIRST_BYTE, FLIP_LAST_BYTE_BEFORE }

    @Test
    void recoveryReturnsEveryIntactRecordAndReportsDamageAtEveryBlockBoundary() throws IOException {
        int cases = 0;
        int lostReported = 0;
        for (long block = 0; block * BLOCK < regionEnd; block++) {
            for (Damage d : Damage.values()) {
                if (d == Damage.FLIP_LAST_BYTE_BEFORE && block == 0) {
                    continue;
                }
                Path copy = dir.resolve("copy-" + block + "-" + d + ".dat");
                Files.copy(original, copy, StandardCopyOption.REPLACE_EXISTING);
                long damageFrom;
                long damageTo;
                byte[] before = Files.readAllBytes(original);
                try (RandomAccessFile f = new RandomAccessFile(copy.toFile(), "rw")) {
                    long at = dataOffset + block * BLOCK;
                    switch (d) {
                        case TRUNCATE -> {
                            f.setLength(at);
                            damageFrom = block * BLOCK;
                            damageTo = Long.MAX_VALUE;
                        }
                        case ZERO_BLOCK -> {
                            f.seek(at);
                            f.write(new byte[BLOCK]);
                            damageFrom = block * BLOCK;
                            damageTo = damageFrom + BLOCK;
                        }
                        case FLIP_FIRST_BYTE -> {
                            flip(f, at, before);
                            damageFrom = block * BLOCK;
                            damageTo = damageFrom + 1;
                        }
                        default -> {
                            flip(f, at - 1, before);
                            damageFrom = block * BLOCK - 1;
                            damageTo = damageFrom + 1;
                        }
                    }
                }
                List<Rec> recovered;
                RecoveryReport report;
                try (BlockDeviceWal wal = BlockDeviceWal.open(options(copy, WalOptions.Backend.DIRECT).build())) {
                    recovered = recoverAll(wal);
                    report = wal.recoveryReport();
                }
                String where = "block=" + block + " damage=" + d + " report=" + report;
                RecoveryOracle.Expected expected = new RecoveryOracle(original, copy, BLOCK, CAPACITY).expected(0);
                WalTesting.assertSameRecords(recovered, expected.records());
                assertThat(report.endPosition()).as(where + " " + expected).isEqualTo(expected.end());
                assertThat(report.lostRegions()).as(where + " " + expected).map(r -> List.of(r.position(), r.endPosition()))
                        .containsExactlyElementsOf(expected.lost().stream().map(l -> List.of(l[0], l[1])).toList());
                // the rules themselves, on this log of single-record writes (each awaited, so each write's
                // durable mark proves everything before it): every intact record before the damage is
                // returned; no changed record is; if an intact record follows the damage, every intact
                // record is returned and the report says acknowledged data was lost
                int firstChanged = -1;
                int lastChanged = -1;
                List<Rec> intact = new ArrayList<>();
                for (int i = 0; i < written.size(); i++) {
                    Rec r = written.get(i);
                    long end = r.position() + WalRecordDescriptor.encodedLength(r.body().length);
                    boolean changed = r.position() < damageTo && end > damageFrom
                            && changedBytes(before, dataOffset + Math.max(r.position(), damageFrom),
                                    dataOffset + Math.min(end, damageTo), d);
                    if (changed) {
                        firstChanged = firstChanged < 0 ? i : firstChanged;
                        lastChanged = i;
                        assertThat(recovered).as(where + " must not return damaged record " + i).doesNotContain(r);
                    } else {
                        intact.add(r);
                    }
                }
                if (firstChanged < 0) {
                    WalTesting.assertSameRecords(recovered, written);
                } else if (lastChanged < written.size() - 1) {
                    WalTesting.assertSameRecords(recovered, intact);
                    assertThat(report.stopReason()).as(where).isEqualTo(StopReason.ACKNOWLEDGED_DATA_LOST);
                    assertThat(report.acknowledgedDataLost()).as(where).isTrue();
                    assertThat(report.lostBytes()).as(where).isPositive();
                    assertThat(report.endReason()).as(where).isEqualTo(StopReason.END_OF_LOG);
                    assertThat(report.tornBytes()).as(where).isZero();
                    lostReported++;
                } else {
                    // damage in the last write: no later record proves it was acknowledged, but the clean
                    // close does (the header records where the log ended); the scan ends at the damage
                    WalTesting.assertSameRecords(recovered, written.subList(0, firstChanged));
                    assertThat(report.stopReason()).as(where).isEqualTo(StopReason.ACKNOWLEDGED_DATA_LOST);
                    assertThat(report.lostRegions()).as(where).hasSize(1);
                    assertThat(report.lostRegions().get(0).position()).as(where)
                            .isEqualTo(written.get(firstChanged).position());
                    assertThat(report.lostRegions().get(0).endPosition()).as(where).isEqualTo(regionEnd);
                    assertThat(report.endPosition()).as(where).isEqualTo(written.get(firstChanged).position());
                    lostReported++;
                }
                Files.delete(copy);
                cases++;
            }
        }
        assertThat(cases).isGreaterThan(40);
        assertThat(lostReported).as("cases with damage inside the acknowledged log").isGreaterThan(40);
    }

    private static boolean changedBytes(byte[] original, long from, long to, Damage d) {
        if (d != Damage.ZERO_BLOCK && d != Damage.TRUNCATE) {
            return true;
        }
        for (long i = from; i < to && i < original.length; i++) {
            if (original[(int) i] != 0) {
                return true;
            }
        }
        return false;
    }

    private static void flip(RandomAccessFile f, long at, byte[] original) throws IOException {
        f.seek(at);
        f.write(original[(int) at] ^ 0x5A);
    }

    @Test
    void recordOfACutOffGenerationIsNeverReplayedAfterANewerGenerationReachesIt() throws IOException {
        Path live = dir.resolve("gen-live.dat");
        Path file = dir.resolve("gen.dat");
        Rec a;
        byte[] bBody = bytes(2, 5000);
        byte[] cBody = bytes(3, 1000);
        long bPosition;
        long cPosition;
        HeldCompletions held = new HeldCompletions();
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(live, WalOptions.Backend.DIRECT).build(), held::wrap)) {
            a = append(wal, bytes(1, 1000));
            // B and C in flight together: C is written while B is not yet durable
            held.hold();
            var fb = wal.append(WalTesting.buf(bBody));
            var fc = wal.append(WalTesting.buf(cBody));
            assertThat(held.submittedWhileHeld()).isEqualTo(2);
            held.awaitOnDevice();
            Files.copy(live, file); // the crash image: B and C on the device, neither acknowledged
            held.release();
            bPosition = dev.strata.testkit.Futures.await(fb).position();
            cPosition = dev.strata.testkit.Futures.await(fc).position();
        }
        // B's first block never reached the disk (a torn write), C did
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(dataOffset + bPosition);
            f.write(new byte[BLOCK]);
        }
        Rec d;
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.DIRECT).build())) {
            assertThat(recoverAll(wal)).containsExactly(a);
            RecoveryReport report = wal.recoveryReport();
            assertThat(report.stopReason()).isEqualTo(StopReason.UNFINISHED_WRITE);
            assertThat(report.tornBytes()).isEqualTo(cPosition - bPosition);
            assertThat(report.lostRegions()).isEmpty();
            // D has B's size, so it ends where B ended and the chain would lead straight to C
            d = append(wal, bytes(4, bBody.length));
            assertThat(d.position()).isEqualTo(bPosition);
            assertThat(d.nextPosition()).isEqualTo(cPosition);
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.DIRECT).build())) {
            assertThat(recoverAll(wal)).containsExactly(a, d);
            assertThat(wal.recoveryReport().stopReason()).isEqualTo(StopReason.STALE_GENERATION);
        }
    }

    @Test
    void zeroedWriteInsideTheLogIsReportedAndLaterRecordsAreReturned() throws IOException {
        Path file = dir.resolve("zeroed.dat");
        Path crashed = dir.resolve("zeroed-crash.dat");
        List<Rec> recs = new ArrayList<>();
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.DIRECT).build())) {
            for (int i = 0; i < 10; i++) {
                recs.add(append(wal, bytes(100 + i, 3000)));
            }
            Files.copy(file, crashed); // a crash image: no clean close, only the records' marks prove anything
        }
        Rec lost = recs.get(4);
        for (Path p : List.of(crashed, file)) {
            try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
                f.seek(dataOffset + lost.position());
                f.write(new byte[BLOCK]); // a lost write: the device returns zeros where record 4 was
            }
        }
        List<Rec> expected = new ArrayList<>(recs);
        expected.remove(4);
        // after a crash (the next record's durable mark proves it), after a clean close, again after
        // another append and close (the region is found again until it is trimmed), and when the first
        // scan is the one an append or report triggers rather than recover()
        List<Path> opens = List.of(crashed, file, file, file);
        for (int round = 0; round < opens.size(); round++) {
            try (BlockDeviceWal wal = BlockDeviceWal.open(options(opens.get(round), WalOptions.Backend.DIRECT).build())) {
                if (round == 3) {
                    wal.recoveryReport(); // the scan at first use (no bodies copied), then recover() rescans
                }
                WalTesting.assertSameRecords(recoverAll(wal), expected);
                RecoveryReport report = wal.recoveryReport();
                assertThat(report.stopReason()).isEqualTo(StopReason.ACKNOWLEDGED_DATA_LOST);
                assertThat(report.endReason()).isEqualTo(StopReason.END_OF_LOG);
                assertThat(report.tornBytes()).isZero();
                assertThat(report.lostRegions()).hasSize(1);
                RecoveryReport.LostRegion region = report.lostRegions().get(0);
                assertThat(region.position()).isEqualTo(lost.position());
                assertThat(region.endPosition()).isEqualTo(lost.nextPosition());
                assertThat(region.bytes()).isEqualTo(BLOCK);
                assertThat(region.found()).isEqualTo(StopReason.END_OF_LOG);
                assertThat(report.detail()).contains("acknowledged data lost",
                        "[" + lost.position() + ", " + lost.nextPosition() + ")");
                if (round == 0) {
                    assertThat(region.detail()).contains("durableMark=" + lost.nextPosition());
                }
                // a second iteration reads the same records and skips the same region, which it names
                // from the first record after it on
                WalTesting.assertSameRecords(recoverAll(wal), expected);
                try (WalRecovery records = wal.recover()) {
                    while (records.hasNext()) {
                        WalRecord r = records.next();
                        r.body().release();
                        assertThat(records.lostRegionsSoFar()).as("before record at %d", r.position())
                                .hasSize(r.position() < lost.position() ? 0 : 1);
                    }
                }
                if (round == 1) {
                    expected.add(append(wal, bytes(200, 100)));
                }
            }
        }
    }

    @Test
    void afterACleanCloseDamageInTheLastWriteIsReportedAndTheRestOfThatWriteReturned() throws IOException {
        Path file = dir.resolve("last-write.dat");
        HeldCompletions held = new HeldCompletions();
        List<Rec> first = new ArrayList<>();
        List<java.util.concurrent.CompletableFuture<WalAppendResult>> grouped = new ArrayList<>();
        List<byte[]> groupedBodies = new ArrayList<>();
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.DIRECT).build(), held::wrap)) {
            first.add(append(wal, bytes(1, 500)));
            // fill every write slot, so that the next appends share one write (the last one)
            held.hold();
            List<java.util.concurrent.CompletableFuture<WalAppendResult>> slots = new ArrayList<>();
            for (int i = 0; i < WalOptions.DEFAULT_MAX_IN_FLIGHT_WRITES; i++) {
                slots.add(wal.append(WalTesting.buf(bytes(10 + i, 100))));
            }
            assertThat(held.submittedWhileHeld()).isEqualTo(WalOptions.DEFAULT_MAX_IN_FLIGHT_WRITES);
            for (int i = 0; i < 5; i++) {
                groupedBodies.add(bytes(20 + i, 1500));
                grouped.add(wal.append(WalTesting.buf(groupedBodies.get(i))));
            }
            held.awaitOnDevice();
            held.release();
            for (int i = 0; i < slots.size(); i++) {
                WalAppendResult r = dev.strata.testkit.Futures.await(slots.get(i));
                first.add(new Rec(r.position(), r.nextPosition(), bytes(10 + i, 100)));
            }
        }
        List<Rec> last = new ArrayList<>();
        for (int i = 0; i < grouped.size(); i++) {
            WalAppendResult r = dev.strata.testkit.Futures.await(grouped.get(i));
            last.add(new Rec(r.position(), r.nextPosition(), groupedBodies.get(i)));
        }
        // one write: contiguous records, the first at a block boundary
        assertThat(last.get(0).position() % BLOCK).isZero();
        for (int i = 1; i < last.size(); i++) {
            assertThat(last.get(i).position()).isEqualTo(last.get(i - 1).nextPosition());
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(dataOffset + last.get(0).position());
            f.write(new byte[BLOCK]);
        }
        // records starting in the zeroed block are lost; those after it, in the same write, are returned
        List<Rec> expected = new ArrayList<>(first);
        long resume = -1;
        for (Rec r : last) {
            if (r.position() >= last.get(0).position() + BLOCK) {
                expected.add(r);
                resume = resume < 0 ? r.position() : resume;
            }
        }
        assertThat(resume).as("a record of the last write starts after the zeroed block").isPositive();
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.DIRECT).build())) {
            WalTesting.assertSameRecords(recoverAll(wal), expected);
            RecoveryReport report = wal.recoveryReport();
            assertThat(report.stopReason()).isEqualTo(StopReason.ACKNOWLEDGED_DATA_LOST);
            assertThat(report.lostRegions()).hasSize(1);
            assertThat(report.lostRegions().get(0).position()).isEqualTo(last.get(0).position());
            assertThat(report.lostRegions().get(0).endPosition()).isEqualTo(resume);
            assertThat(report.lostRegions().get(0).detail()).contains("clean close");
            assertThat(report.endPosition()).isEqualTo(last.get(last.size() - 1).nextPosition());
        }
    }

    @Test
    void walOfFormatVersionOneIsRefusedWithATypedError() throws IOException {
        Path file = dir.resolve("v1.dat");
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.DIRECT).build())) {
            append(wal, bytes(1, 100));
        }
        byte[] before = Files.readAllBytes(file);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            for (int slot = 0; slot < 2; slot++) { // rewrite both header slots as version 1, CRC intact
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(BLOCK).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                f.seek((long) slot * BLOCK);
                f.readFully(b.array());
                if (b.getInt(0) == 0) {
                    continue;
                }
                b.putInt(WalHeaderDescriptor.VERSION_OFFSET, 1);
                java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                crc.update(b.array(), 0, WalHeaderDescriptor.CRC_OFFSET);
                b.putInt(WalHeaderDescriptor.CRC_OFFSET, (int) crc.getValue());
                f.seek((long) slot * BLOCK);
                f.write(b.array());
            }
        }
        byte[] v1 = Files.readAllBytes(file);
        assertThat(v1).isNotEqualTo(before);
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> BlockDeviceWal.open(options(file, WalOptions.Backend.DIRECT).build()).close())
                .isInstanceOfSatisfying(UnsupportedWalFormatException.class, e -> {
                    assertThat(e.foundVersion()).isEqualTo(1);
                    assertThat(e.supportedVersion()).isEqualTo(WalHeaderDescriptor.VERSION);
                    assertThat(e.isRetriable()).isFalse();
                    assertThat(e.getMessage()).contains("version=1", file.toString());
                });
        assertThat(Files.readAllBytes(file)).as("nothing written to a refused WAL").isEqualTo(v1);
    }

    @Test
    void recordFromAnEarlierLapEndsTheScan() {
        Path file = dir.resolve("lap.dat");
        List<Rec> live = new ArrayList<>();
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.DIRECT).capacityBytes(64 << 10).build())) {
            for (int i = 0; i < 40; i++) {
                live.add(append(wal, bytes(i, 3000)));
                if (live.size() > 3) {
                    dev.strata.testkit.Futures.await(wal.trim(live.remove(0).nextPosition()));
                }
            }
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.DIRECT).build())) {
            WalTesting.assertSameRecords(recoverAll(wal), live);
            assertThat(wal.recoveryReport().stopReason()).isIn(StopReason.POSITION_MISMATCH, StopReason.END_OF_LOG);
            assertThat(wal.recoveryReport().startPosition()).isGreaterThan(64 << 10);
        }
    }
}
