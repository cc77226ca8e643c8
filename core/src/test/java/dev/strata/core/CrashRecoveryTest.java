package dev.strata.core;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.Stream;
import dev.strata.testkit.AckLedger;
import dev.strata.testkit.ChildJvm;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash and takeover: a child JVM appends and prints every acknowledgement; the test kills it with
 * SIGKILL after a random number of acknowledgements, then opens the store on the same WAL file and
 * object directory (as a replacement process would) and checks that every acknowledged batch is
 * readable at its offset with its exact bytes, contiguously, and nothing below an acknowledged trim
 * is readable. Several rounds on the same directory; {@code -Dstrata.long=true} runs more.
 */
class CrashRecoveryTest {

    private static final int ROUNDS = Boolean.getBoolean("strata.long") ? 20 : 3;
    private static final int STREAMS = 4;

    @TempDir
    Path dir;

    /** What the child acknowledged, per stream: base -> seed (the seed gives the count); and trims. */
    private final AckLedger ledger = new AckLedger();

    @Test
    void everyAcknowledgedBatchSurvivesSigkillAndTakeover() throws Exception {
        Random random = new Random(20261122);
        List<Long> ids = new ArrayList<>();
        long verified = 0;
        for (int round = 0; round < ROUNDS; round++) {
            String streams = round == 0 ? "new:" + STREAMS : ids.stream().map(String::valueOf).collect(Collectors.joining(","));
            int killAfterAcks = 300 + random.nextInt(1500);
            runChildAndKill(round, streams, killAfterAcks, ids, -1);
            verified += verifyAfterRestart(round);
        }
        assertThat(verified).isGreaterThan(ROUNDS * 300L);
    }

    /**
     * Issue 18, items 0 and 8: while the child runs, this process tries to open the same store. It is
     * refused with {@link dev.strata.api.StorageInUseException} naming the child's pid, and changes
     * nothing: the child keeps acknowledging, and every batch it acknowledged (before and after the
     * refused open) is there after the child is killed and the store reopened. Before the lock, the
     * second open succeeded and the child silently lost what it acknowledged afterwards.
     */
    @Test
    void aSecondProcessCannotOpenTheStoreWhileTheFirstRunsAndLosesNothing() throws Exception {
        List<Long> ids = new ArrayList<>();
        runChildAndKill(0, "new:" + STREAMS, 1500, ids, 500);
        assertThat(refusedOpen).as("the open while the child ran").isInstanceOf(dev.strata.api.StorageInUseException.class);
        assertThat(refusedOpen.getMessage()).contains("another process").contains("pid=" + childPid);
        assertThat(acksAfterRefusal).isGreaterThanOrEqualTo(1000);
        assertThat(verifyAfterRestart(0)).isGreaterThanOrEqualTo(1500);
    }

    private Throwable refusedOpen;
    private long childPid;
    private int acksAfterRefusal;

    private void runChildAndKill(int round, String streams, int killAfterAcks, List<Long> ids, int openAfterAcks)
            throws Exception {
        int[] acks = {0};
        try (ChildJvm child = ChildJvm.of(CrashChild.class).jvmArgs("-Xmx256m")
                .args(dir.toString(), String.valueOf(round), streams)
                .stderrTo(dir.resolve("child-" + round + ".err")).start()) {
            // SIGKILL after killAfterAcks: no shutdown hook, no close, no final upload
            child.readLinesKillingWhen(line -> {
                String[] f = line.split(" ");
                switch (f[0]) {
                    case "STREAM" -> ids.add(Long.parseLong(f[1]));
                    case "ACK" -> {
                        ledger.ack(Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[4]));
                        acks[0]++;
                        if (refusedOpen != null) {
                            acksAfterRefusal++;
                        }
                        if (acks[0] == openAfterAcks) {
                            childPid = child.pid();
                            try (DurableStreamStore second = StoreFixtures.crash(dir).build()) {
                                throw new AssertionError("a second process opened the store while the first ran");
                            } catch (dev.strata.api.StorageInUseException e) {
                                refusedOpen = e;
                            }
                        }
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

    private long verifyAfterRestart(int round) {
        long verified = 0;
        try (DurableStreamStore store = StoreFixtures.crash(dir).build()) {
            for (long id : ledger.streams()) {
                TreeMap<Long, Long> acked = ledger.of(id);
                if (acked.isEmpty()) {
                    continue; // a trim acknowledged, no batch: as before, only streams with acknowledged batches
                }
                Stream s = await(store.openStream(id, 2L * round + 1)); // the child of the next round uses 2 * (round + 1)
                long trim = ledger.trimmed(id);
                assertThat(s.startOffset()).as("acknowledged trim survives").isGreaterThanOrEqualTo(trim);
                Map<Long, FetchedBatchCopy> stored = readAll(s);
                for (Map.Entry<Long, Long> a : acked.entrySet()) {
                    long base = a.getKey();
                    int count = CrashChild.count(a.getValue());
                    if (base + count <= s.startOffset()) {
                        continue; // trimmed away: must not be readable, checked by readAll's range
                    }
                    FetchedBatchCopy b = stored.get(base);
                    assertThat(b).as("round %d stream %d acknowledged batch at %d", round, id, base).isNotNull();
                    assertThat(b.count).isEqualTo(count);
                    assertThat(b.bytes).isEqualTo(CrashChild.payload(a.getValue()));
                    verified++;
                }
                assertThat(s.nextOffset()).isGreaterThanOrEqualTo(acked.lastKey() + CrashChild.count(acked.lastEntry().getValue()));
            }
            System.out.println("round " + round + ": verified " + verified + " acknowledged batches; "
                    + store.recoveryReport().summary());
        }
        return verified;
    }

    private record FetchedBatchCopy(int count, byte[] bytes) {
    }

    /** Reads the stream from its start offset to its end; asserts offsets are contiguous. */
    private static Map<Long, FetchedBatchCopy> readAll(Stream s) {
        Map<Long, FetchedBatchCopy> out = new HashMap<>();
        long offset = s.startOffset();
        Long expectedBase = null;
        while (offset < s.nextOffset()) {
            try (FetchResult r = await(s.fetch(offset, Long.MAX_VALUE, 256 * 1024))) {
                for (FetchedBatch b : r.batches()) {
                    if (expectedBase != null) {
                        assertThat(b.baseOffset()).as("contiguous, no duplicates").isEqualTo(expectedBase);
                    }
                    byte[] bytes = new byte[b.sizeBytes()];
                    b.payload().get(bytes);
                    out.put(b.baseOffset(), new FetchedBatchCopy(b.count(), bytes));
                    expectedBase = b.nextOffset();
                    offset = b.nextOffset();
                }
            }
        }
        return out;
    }
}
