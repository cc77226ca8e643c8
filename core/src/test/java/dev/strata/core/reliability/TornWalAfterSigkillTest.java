package dev.strata.core.reliability;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.Stream;
import dev.strata.core.CrashChild;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StoreFixtures;
import dev.strata.testkit.AckLedger;
import dev.strata.testkit.ChildJvm;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The crash campaign with damaged storage between rounds: the child of {@code CrashRecoveryTest}
 * ({@code dev.strata.core.CrashChild}: several streams, appends in flight, trims, uploads running)
 * is killed with SIGKILL at a random moment; then its WAL file is damaged at a block boundary or
 * inside a block (bit flip, zeroed block, or the file truncated at a block boundary) and the store
 * is opened on it as a replacement process would.
 *
 * <p>Checked each round: the store opens (also on a truncated file); every batch read is
 * the exact acknowledged batch at its offset, offsets contiguous; everything acknowledged in earlier
 * rounds (committed by the restart that verified it) is intact; of this round's acknowledgements a
 * stream loses at most a suffix (lost offsets are then reused by the next round's child). A zeroed
 * block or a truncated file ends the scan as END_OF_LOG without torn bytes, so the report is not
 * checked here (see {@code TornWalCampaignTest#zeroedBlockInsideTheLogIsReported}).
 * CI: 4 rounds; long: 30.
 */
class TornWalAfterSigkillTest {
    private static final int ROUNDS = Campaigns.rounds(4, 30);
    private static final int STREAMS = 3;
    private static final int BLOCK = 4096;

    enum Damage { FLIP_AT_BOUNDARY, ZERO_BLOCK, TRUNCATE_AT_BOUNDARY, FLIP_IN_BLOCK }

    @TempDir
    Path dir;

    /** stream -> base -> seed (the seed gives the count), and trims, as the child printed them. */
    private final AckLedger ledger = new AckLedger();

    @Test
    void sigkillThenDamagedWalNeverYieldsWrongDataAndLosesOnlyTheDamagedSuffix() throws Exception {
        SplittableRandom random = new SplittableRandom(Campaigns.BASE_SEED);
        List<Long> ids = new ArrayList<>();
        long verified = 0;
        long lost = 0;
        for (int round = 0; round < ROUNDS; round++) {
            String streams = round == 0 ? "new:" + STREAMS : ids.stream().map(String::valueOf).collect(Collectors.joining(","));
            Map<Long, Long> verifiedEnd = new HashMap<>(); // per stream: end of what earlier rounds verified
            for (long id : ledger.streams()) {
                TreeMap<Long, Long> m = ledger.of(id);
                verifiedEnd.put(id, m.isEmpty() ? 0 : m.lastKey() + CrashChild.count(m.lastEntry().getValue()));
            }
            runChildAndKill(round, streams, 200 + random.nextInt(1200), ids);
            Damage damage = Damage.values()[round % Damage.values().length];
            String what = damage(dir.resolve("wal").resolve("strata.wal"), damage, random);
            String context = "round " + round + " seed " + Campaigns.BASE_SEED + " " + what;
            String opening = context;
            try (DurableStreamStore store = Campaigns.openAfterDamage(() -> StoreFixtures.crash(dir), opening)) {
                context += "; " + store.recoveryReport().summary();
                for (long id : ids) {
                    Stream s = await(store.openStream(id, 2L * round + 1)); // the child of round r opens at 2r
                    Map<Long, byte[]> back = readAll(s, context);
                    long trim = ledger.trimmed(id);
                    assertThat(s.startOffset()).as("%s: acknowledged trim of stream %d", context, id).isGreaterThanOrEqualTo(trim);
                    TreeMap<Long, Long> mine = ledger.of(id);
                    boolean lostOne = false;
                    List<Long> drop = new ArrayList<>();
                    for (Map.Entry<Long, Long> a : mine.entrySet()) {
                        long base = a.getKey();
                        if (base + CrashChild.count(a.getValue()) <= s.startOffset()) {
                            continue;
                        }
                        byte[] got = back.get(base);
                        boolean earlier = base < verifiedEnd.getOrDefault(id, 0L);
                        if (earlier || (!lostOne && got != null)) {
                            assertThat(got).as("%s: acknowledged batch of stream %d at %d (%s)", context, id, base,
                                    earlier ? "verified in an earlier round" : "this round").isEqualTo(CrashChild.payload(a.getValue()));
                            verified++;
                        } else {
                            assertThat(got).as("%s: stream %d has a hole at %d", context, id, base).isNull();
                            lostOne = true;
                            drop.add(base); // lost to the damage: later rounds reuse these offsets
                        }
                    }
                    drop.forEach(base -> ledger.forget(id, base));
                    lost += drop.size();
                }
            }
        }
        Campaigns.report("TornWalAfterSigkillTest", "rounds=" + ROUNDS + " batchesVerified=" + verified
                + " lostToWalDamage=" + lost + " wrongBytes=0 holes=0");
    }

    private void runChildAndKill(int round, String streams, int killAfterAcks, List<Long> ids) throws Exception {
        int[] acks = {0};
        try (ChildJvm child = ChildJvm.of(CrashChild.class).jvmArgs("-Xmx256m")
                .args(dir.toString(), String.valueOf(round), streams)
                .stderrTo(dir.resolve("child-" + round + ".err")).start()) {
            child.readLinesKillingWhen(line -> { // SIGKILL after killAfterAcks
                String[] f = line.split(" ");
                switch (f[0]) {
                    case "STREAM" -> ids.add(Long.parseLong(f[1]));
                    case "ACK" -> {
                        ledger.ack(Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[4]));
                        acks[0]++;
                    }
                    case "TRIM" -> ledger.trim(Long.parseLong(f[1]), Long.parseLong(f[2]));
                    case "ERR" -> throw new AssertionError("child append failed: " + line);
                    default -> {
                    }
                }
            }, () -> acks[0] >= killAfterAcks);
            child.close();
            assertThat(acks[0]).as("round %d acknowledgements; child stderr:%n%s", round, child.stderr())
                    .isGreaterThanOrEqualTo(killAfterAcks);
        }
    }

    /** Reads the stream from its start to its end: base -> bytes; asserts contiguous offsets. */
    private static Map<Long, byte[]> readAll(Stream s, String context) {
        Map<Long, byte[]> out = new HashMap<>();
        long offset = s.startOffset();
        Long expected = null;
        while (offset < s.nextOffset()) {
            try (FetchResult r = await(s.fetch(offset, Long.MAX_VALUE, 256 * 1024))) {
                assertThat(r.batches()).as(context).isNotEmpty();
                for (FetchedBatch b : r.batches()) {
                    if (expected != null) {
                        assertThat(b.baseOffset()).as("%s: contiguous, exactly once", context).isEqualTo(expected);
                    }
                    byte[] bytes = new byte[b.sizeBytes()];
                    b.payload().get(bytes);
                    out.put(b.baseOffset(), bytes);
                    expected = b.nextOffset();
                    offset = b.nextOffset();
                }
            }
        }
        return out;
    }

    private static String damage(Path wal, Damage damage, SplittableRandom random) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(wal.toFile(), "rw")) {
            long blocks = f.length() / BLOCK;
            List<Long> written = new ArrayList<>();
            byte[] buf = new byte[BLOCK];
            for (long b = 2; b < blocks; b++) {
                f.seek(b * BLOCK);
                f.readFully(buf);
                for (byte x : buf) {
                    if (x != 0) {
                        written.add(b);
                        break;
                    }
                }
            }
            assertThat(written).isNotEmpty();
            // mostly near the end of what was written (the latest, possibly uncommitted records)
            long block = random.nextInt(4) > 0 ? written.get(written.size() - 1 - random.nextInt(Math.min(16, written.size())))
                    : written.get(random.nextInt(written.size()));
            long position = block * BLOCK;
            switch (damage) {
                case FLIP_AT_BOUNDARY -> flip(f, position, random.nextInt(8));
                case FLIP_IN_BLOCK -> {
                    position += random.nextInt(BLOCK);
                    flip(f, position, random.nextInt(8));
                }
                case ZERO_BLOCK -> {
                    f.seek(position);
                    f.write(new byte[BLOCK]);
                }
                case TRUNCATE_AT_BOUNDARY -> f.setLength(position);
                default -> throw new AssertionError(damage);
            }
            return damage + " at byte " + position + " (written blocks " + written.get(0) + ".."
                    + written.get(written.size() - 1) + ", file " + blocks * BLOCK + " bytes)";
        }
    }

    private static void flip(RandomAccessFile f, long position, int bit) throws IOException {
        f.seek(position);
        int b = f.read();
        f.seek(position);
        f.write(b ^ (1 << bit));
    }
}
