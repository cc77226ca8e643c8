package dev.strata.wal;

import static dev.strata.wal.WalTesting.bytes;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.BackpressureException;
import dev.strata.testkit.Futures;
import dev.strata.wal.WalTesting.Rec;
import dev.strata.wal.api.RecoveryReport.StopReason;
import dev.strata.wal.api.RecoveryReport;
import dev.strata.wal.api.WalAppendResult;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.statistics.Statistics;

/**
 * Random append sequences on a small ring (several laps, with trims), some appends acknowledged one
 * by one, some in concurrent batches (group commit), and at the end a few writes left in flight (a
 * crash image: on the device, never acknowledged). Then one block is damaged (zeroed, one byte
 * flipped, or the file truncated there), either inside the acknowledged log or in the
 * unacknowledged tail, and the copy is recovered.
 *
 * <p>Checked: recovery returns exactly what {@link RecoveryOracle} derives from the bytes, never
 * a damaged record, every intact acknowledged record before the damage; damage in the tail loses
 * no acknowledged record, returns nothing after it and reports no lost region; damage inside the
 * acknowledged log that a later write proves (here: an append made after everything before it was
 * acknowledged) is reported as lost acknowledged data, with every intact acknowledged record
 * returned.
 */
class WalDamagePropertiesTest {

    private static final int BLOCK = 4096;
    private static final long CAPACITY = 96 << 10;

    private final List<Path> dirs = new ArrayList<>();

    enum Damage { ZERO, FLIP, TRUNCATE }

    enum Target { ACKNOWLEDGED, TAIL }

    /** {@code concurrent}: appended together, then awaited; else one by one. */
    record Phase(List<Integer> lengths, boolean concurrent, int trimKeep) {
    }

    record Scenario(List<Phase> phases, List<Integer> tail, Damage damage, Target target, int selector) {
    }

    @Provide
    Arbitrary<Scenario> scenarios() {
        // trimKeep -1: no trim after the phase; otherwise keep that many acknowledged records
        Arbitrary<Integer> trimKeep = Arbitraries.frequencyOf(Tuple.of(2, Arbitraries.just(-1)),
                Tuple.of(1, Arbitraries.integers().between(2, 12)));
        Arbitrary<Phase> phase = Combinators.combine(Arbitraries.integers().between(0, 6_000).list().ofMinSize(1)
                .ofMaxSize(6), Arbitraries.of(true, false), trimKeep).as(Phase::new);
        return Combinators.combine(phase.list().ofMinSize(3).ofMaxSize(30),
                Arbitraries.integers().between(0, 6_000).list().ofMaxSize(3), Arbitraries.of(Damage.class),
                Arbitraries.of(Target.class), Arbitraries.integers().between(0, Integer.MAX_VALUE)).as(Scenario::new);
    }

    @Property(tries = 80, edgeCases = EdgeCasesMode.NONE)
    void recoveryReturnsTheAcknowledgedRecordsOutsideTheDamageAndReportsTheDamage(
            @ForAll("scenarios") Scenario s) throws IOException {
        Path dir = Files.createTempDirectory("wal-damage");
        dirs.add(dir);
        Path live = dir.resolve("live.dat");
        Path image = dir.resolve("image.dat");
        Path damaged = dir.resolve("damaged.dat");
        WalOptions options = WalTesting.options(live, WalOptions.Backend.DIRECT).capacityBytes(CAPACITY).build();

        List<Rec> acked = new ArrayList<>(); // acknowledged, untrimmed, in log order
        Map<Long, Boolean> provesEarlier = new HashMap<>(); // position -> appended after all before it was acknowledged
        List<Rec> tail = new ArrayList<>();
        long trim = 0;
        long seed = 0;
        long appendedBytes = 0;
        HeldCompletions held = new HeldCompletions();
        try (BlockDeviceWal wal = BlockDeviceWal.open(options, held::wrap)) {
            for (Phase ph : s.phases()) {
                List<byte[]> bodies = new ArrayList<>();
                List<CompletableFuture<WalAppendResult>> futures = new ArrayList<>();
                for (int len : ph.lengths()) {
                    byte[] body = bytes(seed++, len);
                    bodies.add(body);
                    futures.add(wal.append(WalTesting.buf(body)));
                    if (!ph.concurrent()) {
                        await(futures.get(futures.size() - 1));
                    }
                }
                for (int i = 0; i < futures.size(); i++) {
                    WalAppendResult r = await(futures.get(i));
                    if (r != null) {
                        Rec rec = new Rec(r.position(), r.nextPosition(), bodies.get(i));
                        acked.add(rec);
                        provesEarlier.put(rec.position(), !ph.concurrent() || i == 0);
                        appendedBytes += r.nextPosition() - r.position();
                    }
                }
                int keep = ph.trimKeep() < 0 ? acked.size() : ph.trimKeep();
                if (acked.size() > keep) {
                    int cut = acked.size() - keep;
                    trim = acked.get(cut - 1).nextPosition();
                    Futures.await(wal.trim(trim));
                    acked.subList(0, cut).clear();
                }
            }
            // the crash image: the last appends on the device, not acknowledged
            held.hold();
            List<byte[]> bodies = new ArrayList<>();
            List<CompletableFuture<WalAppendResult>> futures = new ArrayList<>();
            for (int len : s.tail()) {
                byte[] body = bytes(seed++, len);
                bodies.add(body);
                futures.add(wal.append(WalTesting.buf(body)));
            }
            held.awaitOnDevice();
            Files.copy(live, image);
            held.release();
            for (int i = 0; i < futures.size(); i++) {
                WalAppendResult r = await(futures.get(i));
                if (r != null) {
                    tail.add(new Rec(r.position(), r.nextPosition(), bodies.get(i)));
                }
            }
        }
        Statistics.collect(appendedBytes > CAPACITY ? "wrapped" : "one lap", s.target(), s.damage());

        // damage one block of the image, inside the acknowledged log or in the unacknowledged tail
        List<Rec> targets = s.target() == Target.TAIL && !tail.isEmpty() ? tail : acked;
        if (targets.isEmpty()) {
            return; // nothing acknowledged survived the trims: nothing to damage
        }
        List<Long> blocks = new ArrayList<>();
        for (Rec r : targets) {
            long end = r.position() + WalRecordDescriptor.encodedLength(r.body().length);
            for (long b = WalMath.alignDown(r.position(), BLOCK); b < end; b += BLOCK) {
                if (blocks.isEmpty() || blocks.get(blocks.size() - 1) != b) {
                    blocks.add(b);
                }
            }
        }
        long block = blocks.get(s.selector() % blocks.size());
        long offset = 2L * BLOCK + block % CAPACITY;
        Files.copy(image, damaged);
        try (RandomAccessFile f = new RandomAccessFile(damaged.toFile(), "rw")) {
            switch (s.damage()) {
                case ZERO -> {
                    f.seek(offset);
                    f.write(new byte[BLOCK]);
                }
                case FLIP -> {
                    long at = offset + s.selector() % BLOCK;
                    f.seek(at);
                    int b = f.read();
                    f.seek(at);
                    f.write(b ^ (1 << (s.selector() % 8)));
                }
                case TRUNCATE -> f.setLength(offset);
                default -> throw new AssertionError(s.damage());
            }
        }

        List<Rec> recovered;
        RecoveryReport report;
        try (BlockDeviceWal wal = BlockDeviceWal.open(WalTesting.options(damaged, WalOptions.Backend.DIRECT).build())) {
            recovered = WalTesting.recoverAll(wal);
            report = wal.recoveryReport();
        }
        RecoveryOracle.Expected expected = new RecoveryOracle(image, damaged, BLOCK, CAPACITY).expected(trim);
        String where = s + " block=" + block + " " + expected + " report=" + report;

        // exactly what the rule gives for these bytes
        assertThat(recovered).as(where).containsExactlyElementsOf(expected.records());
        assertThat(report.endPosition()).as(where).isEqualTo(expected.end());
        assertThat(report.lostRegions()).as(where).map(r -> List.of(r.position(), r.endPosition()))
                .containsExactlyElementsOf(expected.lost().stream().map(l -> List.of(l[0], l[1])).toList());
        assertThat(report.stopReason() == StopReason.ACKNOWLEDGED_DATA_LOST).as(where)
                .isEqualTo(!expected.lost().isEmpty());

        // and the rules themselves, stated on what was acknowledged
        List<RecoveryOracle.Entry> chain = new RecoveryOracle(image, damaged, BLOCK, CAPACITY).chain(trim);
        Map<Long, RecoveryOracle.Entry> onDisk = new HashMap<>();
        chain.forEach(e -> onDisk.put(e.position(), e));
        List<Rec> written = new ArrayList<>(acked);
        written.addAll(tail);
        for (Rec r : recovered) {
            assertThat(written).as(where + " returned record is one that was written, byte for byte").contains(r);
            assertThat(onDisk.get(r.position()).intact()).as(where + " never a damaged record: " + r).isTrue();
        }
        // damaged entries of the chain (data or padding records) in log order
        List<RecoveryOracle.Entry> bad = chain.stream().filter(e -> !e.intact()).toList();
        long firstDamaged = bad.isEmpty() ? Long.MAX_VALUE : bad.get(0).position();
        long lastDamaged = bad.isEmpty() ? Long.MIN_VALUE : bad.get(bad.size() - 1).position();
        long tailStart = tail.isEmpty() ? Long.MAX_VALUE : tail.get(0).position();
        for (Rec r : acked) {
            if (r.position() < firstDamaged) {
                assertThat(recovered).as(where + " intact acknowledged record before the damage").contains(r);
            }
        }
        if (firstDamaged >= tailStart) {
            // damage only in the unacknowledged tail (or nowhere): every acknowledged record, nothing after the damage
            assertThat(recovered).as(where).containsAll(acked);
            assertThat(recovered).as(where).allMatch(r -> r.position() < firstDamaged);
            assertThat(report.lostRegions()).as(where).isEmpty();
            if (tail.stream().anyMatch(r -> r.position() > firstDamaged && onDisk.get(r.position()).intact())) {
                assertThat(report.stopReason()).as(where + " a torn tail is never a clean end")
                        .isNotIn(StopReason.END_OF_LOG, StopReason.ACKNOWLEDGED_DATA_LOST);
                assertThat(report.tornBytes()).as(where).isPositive();
            }
        } else if (s.damage() != Damage.TRUNCATE && acked.stream().anyMatch(r -> r.position() > lastDamaged
                && provesEarlier.get(r.position()) && onDisk.get(r.position()).intact())) {
            // damage inside the acknowledged log, and an acknowledged append made after it was durable:
            // the one damaged stretch is reported lost, every intact acknowledged record is returned
            for (Rec r : acked) {
                if (onDisk.get(r.position()).intact()) {
                    assertThat(recovered).as(where + " intact acknowledged record after lost data").contains(r);
                }
            }
            long resume = chain.stream().filter(e -> e.position() > lastDamaged && e.intact()).findFirst()
                    .orElseThrow().position();
            assertThat(report.stopReason()).as(where).isEqualTo(StopReason.ACKNOWLEDGED_DATA_LOST);
            assertThat(report.acknowledgedDataLost()).as(where).isTrue();
            assertThat(report.lostRegions()).as(where).hasSize(1);
            assertThat(report.lostRegions().get(0).position()).as(where).isEqualTo(firstDamaged);
            assertThat(report.lostRegions().get(0).endPosition()).as(where).isEqualTo(resume);
            assertThat(report.lostBytes()).as(where).isEqualTo(resume - firstDamaged);
        }
        Statistics.label("outcome").collect(!report.lostRegions().isEmpty() ? "acknowledged data lost, reported"
                : report.tornBytes() > 0 || report.endReason() != StopReason.END_OF_LOG ? "torn tail" : "clean end");
    }

    private static WalAppendResult await(CompletableFuture<WalAppendResult> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof BackpressureException) {
                return null; // the ring is full of untrimmed records: nothing was written
            }
            throw e;
        }
    }

    @AfterProperty
    void deleteFiles() throws IOException {
        for (Path d : dirs) {
            try (var files = Files.walk(d)) {
                for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
        dirs.clear();
    }
}
