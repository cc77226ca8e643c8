package dev.strata.wal;

import static dev.strata.wal.WalTesting.append;
import static dev.strata.wal.WalTesting.bytes;
import static dev.strata.wal.WalTesting.options;
import static dev.strata.wal.WalTesting.recoverAll;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.wal.RecoveryReport.StopReason;
import dev.strata.wal.WalTesting.Rec;
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
 * recovery returns the intact prefix and never a damaged record.
 */
class WalCorruptionTest {

    private static final int BLOCK = 4096;

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
    void recoveryReturnsTheIntactPrefixForDamageAtEveryBlockBoundary() throws IOException {
        int cases = 0;
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
                // a prefix of what was written, byte for byte: never a damaged record
                assertThat(recovered.size()).as(where).isLessThanOrEqualTo(written.size());
                for (int i = 0; i < recovered.size(); i++) {
                    assertThat(recovered.get(i)).as(where + " record " + i).isEqualTo(written.get(i));
                }
                // every record wholly before the damage is returned; no record whose bytes changed is
                for (int i = 0; i < written.size(); i++) {
                    Rec r = written.get(i);
                    long end = r.position() + WalRecordDescriptor.encodedLength(r.body().length);
                    boolean before_ = end <= damageFrom;
                    boolean changed = r.position() < damageTo && end > damageFrom
                            && changedBytes(before, dataOffset + Math.max(r.position(), damageFrom),
                                    dataOffset + Math.min(end, damageTo), d);
                    if (before_) {
                        assertThat(recovered.size()).as(where + " must include record " + i).isGreaterThan(i);
                    }
                    if (changed) {
                        assertThat(recovered.size()).as(where + " must stop before damaged record " + i).isLessThanOrEqualTo(i);
                        assertThat(report.stopReason()).as(where).isNotEqualTo(StopReason.CAPACITY_REACHED);
                    }
                }
                Files.delete(copy);
                cases++;
            }
        }
        assertThat(cases).isGreaterThan(40);
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
        Path file = dir.resolve("gen.dat");
        Rec a;
        Rec b;
        Rec c;
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.DIRECT).build())) {
            a = append(wal, bytes(1, 1000));
            b = append(wal, bytes(2, 5000));
            c = append(wal, bytes(3, 1000));
        }
        // B's first block never reached the disk (a torn write), C did (it was in flight at the same time)
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(dataOffset + b.position());
            f.write(new byte[BLOCK]);
        }
        Rec d;
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.DIRECT).build())) {
            assertThat(recoverAll(wal)).containsExactly(a);
            // D has B's size, so it ends where B ended and the chain would lead straight to C
            d = append(wal, bytes(4, 5000));
            assertThat(d.position()).isEqualTo(b.position());
            assertThat(d.nextPosition()).isEqualTo(c.position());
        }
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.DIRECT).build())) {
            assertThat(recoverAll(wal)).containsExactly(a, d);
            assertThat(wal.recoveryReport().stopReason()).isEqualTo(StopReason.STALE_GENERATION);
        }
    }

    @Test
    void recordFromAnEarlierLapEndsTheScan() {
        Path file = dir.resolve("lap.dat");
        List<Rec> live = new ArrayList<>();
        try (BlockDeviceWal wal = BlockDeviceWal.open(options(file, WalOptions.Backend.DIRECT).capacityBytes(64 << 10).build())) {
            for (int i = 0; i < 40; i++) {
                live.add(append(wal, bytes(i, 3000)));
                if (live.size() > 3) {
                    dev.strata.api.testkit.Futures.await(wal.trim(live.remove(0).nextPosition()));
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
