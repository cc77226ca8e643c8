package dev.strata.core.reliability;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StoreFixtures;
import dev.strata.core.StoreRecoveryReport;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectStorageException.Kind;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.format.StreamBatch;
import dev.strata.objectstore.format.StreamBatchCodec;
import dev.strata.objectstore.testing.FaultInjectingObjectStorage;
import dev.strata.testkit.AckLedger;
import dev.strata.wal.BlockDeviceWal;
import dev.strata.wal.WalOptions;
import dev.strata.wal.api.RecoveryReport;
import dev.strata.wal.api.WalRecord;
import dev.strata.wal.api.WalRecovery;
import io.netty.buffer.ByteBufUtil;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Torn and corrupt WAL files. Each round writes acknowledged data of which a first part is uploaded
 * and committed, and a second part stays only in the WAL (the object store refuses the final upload
 * at close, as after a crash). Then the WAL file is damaged at a block boundary or inside a block,
 * at random: a block zeroed, a bit flipped at the block's first byte, a bit flipped anywhere in it,
 * or one of the two header slots damaged. The store is opened again.
 *
 * <p>Checked: the store opens; nothing returned is corrupt (every batch genuine, offsets contiguous,
 * exactly once); every committed acknowledged batch is intact (it is in objects, whatever happens to
 * the WAL); of the WAL-only acknowledged batches, a stream loses at most a suffix (the scan stops at
 * the damage; later records are not replayed over a hole); and when acknowledged data was lost the
 * recovery report says the scan stopped at damage (a stop reason other than the clean end, or torn
 * bytes). CI: 16 rounds; long: 400. The SIGKILL crash campaign itself is {@code CrashRecoveryTest}.
 */
class TornWalCampaignTest {
    private static final int ROUNDS = Campaigns.rounds(16, 400);
    private static final int STREAMS = 3;
    private static final int BLOCK = 4096;
    private static final int HEADER_BLOCKS = 2;

    enum Damage { ZERO_BLOCK, FLIP_AT_BOUNDARY, FLIP_IN_BLOCK, HEADER_SLOT }

    @TempDir
    Path tmp;

    @Test
    void damagedWalNeverYieldsCorruptDataAndCommittedDataSurvives() throws IOException {
        long verified = 0;
        long walOnlyLost = 0;
        long walOnlyRecovered = 0;
        Map<Damage, Integer> rounds = new java.util.EnumMap<>(Damage.class);
        for (int round = 0; round < ROUNDS; round++) {
            long seed = Campaigns.BASE_SEED + round;
            SplittableRandom random = new SplittableRandom(seed);
            Damage damage = Damage.values()[round % Damage.values().length];
            rounds.merge(damage, 1, Integer::sum);
            Path dir = tmp.resolve("round-" + round);
            AckLedger ledger = new AckLedger();
            Map<Long, Long> committedEnd = new java.util.HashMap<>();
            List<Long> ids = new ArrayList<>();
            try (LocalObjectStorage local = LocalObjectStorage.open(dir.resolve("objects"))) {
                FaultInjectingObjectStorage faulty = new FaultInjectingObjectStorage(local, seed);
                try (DurableStreamStore store = StoreFixtures.campaign(dir).objectStorage(faulty)
                        .uploadInterval(java.time.Duration.ofHours(1)).build()) {
                    List<Stream> streams = new ArrayList<>();
                    for (int i = 0; i < STREAMS; i++) {
                        Stream s = await(store.createStream(StreamOptions.defaults()));
                        streams.add(s);
                        ids.add(s.id());
                    }
                    appendAll(streams, ledger, seed, 0, 10 + random.nextInt(30));
                    await(store.flush());
                    for (Stream s : streams) {
                        committedEnd.put(s.id(), s.nextOffset());
                    }
                    appendAll(streams, ledger, seed, 1000, 10 + random.nextInt(30));
                    // the object store refuses the final upload at close: the second part stays WAL-only
                    for (Operation op : Operation.values()) {
                        faulty.failRate(op, 1.0, Kind.PERMANENT);
                    }
                }
            }
            Path wal = dir.resolve("wal").resolve("strata.wal");
            String what = damage(wal, damage, random);
            String context = "round " + round + " seed " + seed + " " + what;

            try (DurableStreamStore store = Campaigns.openAfterDamage(() -> StoreFixtures.campaign(dir), context)) {
                StoreRecoveryReport report = store.recoveryReport();
                context += "; " + report.summary();
                long lostThisRound = 0;
                for (long id : ids) {
                    Stream s = await(store.openStream(id, 1));
                    Campaigns.ReadBack back = Campaigns.readAll(s, ledger, context);
                    TreeMap<Long, Long> acked = ledger.of(id);
                    boolean lostOne = false;
                    for (Map.Entry<Long, Long> a : acked.entrySet()) {
                        Long got = back.batches.get(a.getKey());
                        boolean committed = a.getKey() < committedEnd.get(id);
                        if (committed || !lostOne && got != null) {
                            assertThat(got).as("%s: acknowledged %s batch of stream %d at %d", context,
                                    committed ? "committed" : "WAL-only", id, a.getKey()).isEqualTo(a.getValue());
                            verified++;
                            walOnlyRecovered += committed ? 0 : 1;
                        } else {
                            // lost WAL-only batch: everything after it in this stream must be absent too
                            assertThat(got).as("%s: stream %d has a hole: batch at %d survived after a lost one",
                                    context, id, a.getKey()).isNull();
                            lostOne = true;
                            lostThisRound++;
                        }
                    }
                }
                // every damage kind, a zeroed block too: the WAL was closed cleanly, so its header says where
                // the log ended and any hole below that is reported (see zeroedBlockInsideTheLogIsReported)
                if (lostThisRound > 0) {
                    RecoveryReport scan = report.wal();
                    assertThat(scan.stopReason() != RecoveryReport.StopReason.END_OF_LOG || scan.tornBytes() > 0)
                            .as("%s: %d acknowledged batches lost, the recovery report must say the scan stopped at damage",
                                    context, lostThisRound).isTrue();
                }
                walOnlyLost += lostThisRound;
                // the store keeps working: append and read back on every stream
                for (long id : ids) {
                    Stream s = await(store.openStream(id, 2));
                    long tailSeed = seed * 1_000_000L + id * 10_000 + 9_999;
                    long base = await(s.append(Campaigns.batch(tailSeed))).baseOffset();
                    assertThat(base).isEqualTo(s.nextOffset() - Campaigns.count(tailSeed));
                    Campaigns.readAll(s, new AckLedger(), context + " after append");
                }
            }
        }
        Campaigns.report("TornWalCampaignTest", "rounds=" + ROUNDS + " damages=" + rounds + " batchesVerified=" + verified
                + " walOnlyRecovered=" + walOnlyRecovered + " walOnlyLostToDamage=" + walOnlyLost
                + " committedLost=0 corruptReturned=0");
    }

    /**
     * A block of zeros in the middle of the WAL (a lost write, a device that returned zeros after a
     * power loss) used to end the recovery scan as if the log ended there: the acknowledged records
     * after it were dropped and the report said END_OF_LOG with no torn bytes, so nobody learned
     * that acknowledged data was lost (RELIABILITY.md, bug 2). Now the report says so, with the lost
     * region, and the WAL returns every acknowledged record after the zeroed block.
     */
    @Test
    void zeroedBlockInsideTheLogIsReported() throws IOException {
        Path dir = tmp.resolve("zeroed");
        AckLedger ledger = new AckLedger();
        long id;
        try (LocalObjectStorage local = LocalObjectStorage.open(dir.resolve("objects"))) {
            FaultInjectingObjectStorage faulty = new FaultInjectingObjectStorage(local, 1);
            try (DurableStreamStore store = StoreFixtures.campaign(dir).objectStorage(faulty)
                    .uploadInterval(java.time.Duration.ofHours(1)).build()) {
                Stream s = await(store.createStream(StreamOptions.defaults()));
                id = s.id();
                for (Operation op : Operation.values()) {
                    faulty.failRate(op, 1.0, Kind.PERMANENT); // nothing reaches objects: the WAL is the only copy
                }
                appendAll(List.of(s), ledger, 1, 0, 40); // ~80 KiB: about 20 blocks
            }
        }
        Path wal = dir.resolve("wal").resolve("strata.wal");
        long zeroed;
        try (RandomAccessFile f = new RandomAccessFile(wal.toFile(), "rw")) {
            zeroed = (HEADER_BLOCKS + 3) * (long) BLOCK; // a block early in the log, with records after it
            f.seek(zeroed);
            f.write(new byte[BLOCK]);
        }
        // what the WAL itself returns (from a copy: opening the store replays, uploads and trims the WAL)
        Path copy = dir.resolve("wal-copy");
        java.nio.file.Files.copy(wal, copy);
        TreeMap<Long, Long> fromWal = new TreeMap<>(); // base offset -> seed, of intact acknowledged batches
        try (BlockDeviceWal w = BlockDeviceWal.open(WalOptions.builder(copy).build());
                WalRecovery records = w.recover()) {
            while (records.hasNext()) {
                WalRecord r = records.next();
                try {
                    StreamBatch b = StreamBatchCodec.wrap(r.body(), "wal", r.position()).verifyChecksum("wal");
                    byte[] payload = ByteBufUtil.getBytes(b.payload());
                    assertThat(Campaigns.isGenuine(payload)).as("WAL record at %d is genuine", r.position()).isTrue();
                    assertThat(fromWal.put(b.baseOffset(), Campaigns.seedOf(payload))).isNull();
                } finally {
                    r.body().release();
                }
            }
            RecoveryReport scan = records.report();
            long zeroedPosition = zeroed - HEADER_BLOCKS * (long) BLOCK; // first lap: position = ring offset
            assertThat(scan.stopReason()).as("%s", scan).isEqualTo(RecoveryReport.StopReason.ACKNOWLEDGED_DATA_LOST);
            assertThat(scan.acknowledgedDataLost()).isTrue();
            assertThat(scan.lostRegions()).as("%s", scan).hasSize(1);
            RecoveryReport.LostRegion region = scan.lostRegions().get(0);
            assertThat(region.position()).as("%s", scan).isBetween(zeroedPosition - 2L * BLOCK, zeroedPosition);
            assertThat(region.endPosition()).as("%s", scan).isGreaterThanOrEqualTo(zeroedPosition + BLOCK);
        }
        // every acknowledged batch is returned but those in the zeroed block: one stretch, with batches after it
        TreeMap<Long, Long> acked = ledger.of(id);
        for (Map.Entry<Long, Long> e : fromWal.entrySet()) {
            assertThat(acked.get(e.getKey())).as("batch at %d from the WAL is the acknowledged one", e.getKey())
                    .isEqualTo(e.getValue());
        }
        List<Long> missing = acked.keySet().stream().filter(k -> !fromWal.containsKey(k)).toList();
        assertThat(missing).as("batches in the zeroed block").isNotEmpty().hasSizeLessThanOrEqualTo(4);
        assertThat(acked.subMap(missing.get(0), true, missing.get(missing.size() - 1), true).keySet())
                .as("the lost batches are one stretch").containsExactlyElementsOf(missing);
        assertThat(fromWal.tailMap(missing.get(missing.size() - 1), false).keySet())
                .as("acknowledged batches after the zeroed block, returned by the WAL")
                .isNotEmpty().containsExactlyElementsOf(acked.tailMap(missing.get(missing.size() - 1), false).keySet());

        assertThatThrownBy(() -> StoreFixtures.campaign(dir).build()).as("the default open refuses lost WAL data")
                .isInstanceOf(dev.strata.api.CorruptDataException.class).hasMessageContaining("lost acknowledged data");
        try (DurableStreamStore store = Campaigns.openAfterDamage(() -> StoreFixtures.campaign(dir), "zeroed")) {
            Stream s = await(store.openStream(id, 1));
            assertThat(store.recoveryReport().lostOffsets()).as("the stream's lost offsets: the batches of the zeroed block")
                    .singleElement().satisfies(l -> {
                        assertThat(l.streamId()).isEqualTo(id);
                        assertThat(l.fromOffset()).isEqualTo(missing.get(0));
                    });
            assertThat(store.recoveryReport().recordsAfterLostData()).as("acknowledged batches after the gap, dropped")
                    .isEqualTo(acked.tailMap(missing.get(missing.size() - 1), false).size());
            long lost = ledger.of(id).size() - Campaigns.readAll(s, ledger, "zeroed").batches.size();
            RecoveryReport scan = store.recoveryReport().wal();
            assertThat(lost).as("acknowledged batches after the zeroed block").isPositive();
            assertThat(scan.stopReason() != RecoveryReport.StopReason.END_OF_LOG || scan.tornBytes() > 0)
                    .as("%d acknowledged batches lost behind a zeroed block at byte %d, but the report says: %s", lost,
                            zeroed, store.recoveryReport().summary()).isTrue();
            assertThat(scan.acknowledgedDataLost()).as("%s", store.recoveryReport().summary()).isTrue();
            assertThat(store.recoveryReport().summary()).contains("ACKNOWLEDGED_DATA_LOST");
        }
    }

    private static void appendAll(List<Stream> streams, AckLedger ledger, long seed, int from, int batches) {
        for (int n = from; n < from + batches; n++) {
            for (Stream s : streams) {
                long bs = seed * 1_000_000L + s.id() * 10_000 + n;
                ledger.ack(s.id(), await(s.append(Campaigns.batch(bs))).baseOffset(), bs);
            }
        }
    }

    /** Damages the WAL file; returns what it did. */
    private static String damage(Path wal, Damage damage, SplittableRandom random) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(wal.toFile(), "rw")) {
            long blocks = f.length() / BLOCK;
            List<Long> written = new ArrayList<>();
            byte[] buf = new byte[BLOCK];
            for (long b = HEADER_BLOCKS; b < blocks; b++) {
                f.seek(b * BLOCK);
                f.readFully(buf);
                for (byte x : buf) {
                    if (x != 0) {
                        written.add(b);
                        break;
                    }
                }
            }
            assertThat(written).as("written WAL blocks").isNotEmpty();
            long block = damage == Damage.HEADER_SLOT ? random.nextInt(HEADER_BLOCKS)
                    // half the time among the last blocks written (the WAL-only part), else anywhere
                    : random.nextBoolean() ? written.get(written.size() - 1 - random.nextInt(Math.min(8, written.size())))
                    : written.get(random.nextInt(written.size()));
            long position = block * BLOCK;
            switch (damage) {
                case ZERO_BLOCK -> {
                    f.seek(position);
                    f.write(new byte[BLOCK]);
                }
                case FLIP_AT_BOUNDARY -> flip(f, position, random.nextInt(8));
                case FLIP_IN_BLOCK, HEADER_SLOT -> {
                    position += random.nextInt(damage == Damage.HEADER_SLOT ? 64 : BLOCK);
                    flip(f, position, random.nextInt(8));
                }
                default -> throw new AssertionError(damage);
            }
            return damage + " at byte " + position + " (block " + block + ", written blocks " + written.get(0) + ".."
                    + written.get(written.size() - 1) + ")";
        }
    }

    private static void flip(RandomAccessFile f, long position, int bit) throws IOException {
        f.seek(position);
        int b = f.read();
        f.seek(position);
        f.write(b ^ (1 << bit));
    }
}
