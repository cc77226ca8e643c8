package dev.strata.wal;

import static dev.strata.wal.WalTesting.append;
import static dev.strata.wal.WalTesting.bytes;
import static dev.strata.wal.WalTesting.recoverAll;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.BackpressureException;
import dev.strata.testkit.Futures;
import dev.strata.wal.WalTesting.Rec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterProperty;

/**
 * Random append / trim / reopen sequences on a small ring (many laps): after every reopen,
 * recovery returns exactly the acknowledged, untrimmed records, in order.
 */
class WalPropertiesTest {

    private final List<Path> dirs = new ArrayList<>();

    sealed interface Op permits AppendOp, TrimOp, ReopenOp {
    }

    record AppendOp(int length) implements Op {
    }

    /** Trims after the record {@code keep} records before the newest. */
    record TrimOp(int keep) implements Op {
    }

    record ReopenOp() implements Op {
    }

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Op> append = Arbitraries.integers().between(0, 12_000).map(AppendOp::new);
        Arbitrary<Op> trim = Arbitraries.integers().between(0, 8).map(TrimOp::new);
        Arbitrary<Op> reopen = Arbitraries.just(new ReopenOp());
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(12, append), net.jqwik.api.Tuple.of(4, trim),
                net.jqwik.api.Tuple.of(1, reopen)).list().ofMinSize(20).ofMaxSize(250);
    }

    @Property(tries = 25)
    void recoveryReturnsExactlyTheDurableUntrimmedRecords(@ForAll("ops") List<Op> ops) throws IOException {
        Path dir = Files.createTempDirectory("wal-prop");
        dirs.add(dir);
        WalOptions options = WalTesting.options(dir.resolve("wal.dat"), WalOptions.Backend.DIRECT)
                .capacityBytes(96 << 10).build();
        List<Rec> model = new ArrayList<>();
        long seed = 0;
        BlockDeviceWal wal = BlockDeviceWal.open(options);
        try {
            for (Op op : ops) {
                if (op instanceof AppendOp a) {
                    byte[] body = bytes(seed++, a.length());
                    try {
                        model.add(append(wal, body));
                    } catch (BackpressureException full) {
                        // the ring is full of untrimmed records: allowed, nothing was written
                        assertThat(wal.free()).isLessThan(WalRecordDescriptor.encodedLength(a.length()) + 2L * 4096 + WalRecordDescriptor.HEADER_BYTES);
                    }
                } else if (op instanceof TrimOp t) {
                    if (model.size() > t.keep()) {
                        int cut = model.size() - t.keep();
                        Futures.await(wal.trim(model.get(cut - 1).nextPosition()));
                        model.subList(0, cut).clear();
                    }
                } else {
                    wal.close();
                    wal = BlockDeviceWal.open(options);
                    WalTesting.assertSameRecords(recoverAll(wal), model);
                }
            }
            wal.close();
            wal = BlockDeviceWal.open(options);
            WalTesting.assertSameRecords(recoverAll(wal), model);
        } finally {
            wal.close();
        }
    }

    @AfterProperty
    void deleteFiles() throws IOException {
        for (Path d : dirs) {
            try (var s = Files.walk(d)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
        dirs.clear();
    }
}
