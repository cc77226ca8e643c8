package dev.strata.core.reliability;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.Stream;
import dev.strata.core.CompactionReport;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StoreFixtures;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectKeys;
import dev.strata.testkit.AckLedger;
import dev.strata.testkit.ChildJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The crash campaign with readers: like {@code CrashRecoveryTest}, but the killed child
 * ({@link CrashWithReadersChild}) also runs a catch-up reader and a tail reader while it appends,
 * trims and uploads, and its payloads are self-describing. SIGKILL after a random number of
 * acknowledgements, many rounds on the same directory; after each, a replacement opens the store and
 * checks that every acknowledged batch is readable at its offset with its exact bytes, contiguous,
 * exactly once, that nothing below an acknowledged trim is readable, and that the child's readers
 * never saw a damaged batch. Compaction runs every 100 ms in the child, so kills land in every phase of
 * it; after each round the verifier runs compaction with no orphan TTL and checks that the bucket then
 * holds exactly the committed objects (the orphans a kill left were found and deleted) and that the
 * temporary files of uploads the kill cut off are gone (issue 18 item 12).
 * CI: 3 rounds; long: 20.
 */
class CrashWithReadersTest {
    private static final int ROUNDS = Campaigns.rounds(3, 20);
    private static final int STREAMS = 4;

    @TempDir
    Path dir;

    private final AckLedger ledger = new AckLedger();
    private long readsInChild;
    private long orphansDeleted;
    private long rewrittenInChild;
    private long compactionTasks;
    private long temporaryFilesLeftByKills;

    /** Temporary files of uploads under the object directory (".strata-tmp-*"). */
    private static List<Path> temporaryFiles(Path objects) throws java.io.IOException {
        if (!Files.isDirectory(objects)) {
            return List.of();
        }
        try (java.util.stream.Stream<Path> files = Files.walk(objects)) {
            return files.filter(p -> p.getFileName().toString().startsWith(".strata-tmp-")).toList();
        }
    }

    @Test
    void everyAcknowledgedBatchSurvivesSigkillWhileReadersRun() throws Exception {
        SplittableRandom random = new SplittableRandom(Campaigns.BASE_SEED);
        List<Long> ids = new ArrayList<>();
        long verified = 0;
        for (int round = 0; round < ROUNDS; round++) {
            String streams = round == 0 ? "new:" + STREAMS : ids.stream().map(String::valueOf).collect(Collectors.joining(","));
            runChildAndKill(round, streams, 300 + random.nextInt(1500), ids);
            String context = "round " + round + " seed " + Campaigns.BASE_SEED;
            List<Path> leftByKill = temporaryFiles(dir.resolve("objects")); // uploads the kill cut off
            temporaryFilesLeftByKills += leftByKill.size();
            try (DurableStreamStore store = StoreFixtures.crashWithReaders(dir).compactionInterval(Duration.ZERO)
                    .orphanTtl(Duration.ZERO).garbageGracePeriod(Duration.ZERO).compactionBytesPerSecond(0).build()) {
                List<Stream> opened = new ArrayList<>();
                for (long id : ids) {
                    opened.add(await(store.openStream(id, 2L * round + 1)));
                    verified += Campaigns.verifyAcknowledged(opened.get(opened.size() - 1), ledger,
                            context + "; " + store.recoveryReport().summary());
                }
                CompactionReport sweep = await(store.compact());
                orphansDeleted += sweep.orphansDeleted();
                compactionTasks += sweep.tasksRun();
                try (LocalObjectStorage bucket = LocalObjectStorage.open(dir.resolve("objects"))) {
                    long dataObjects = await(bucket.list("")).stream()
                            .filter(o -> ObjectKeys.parseObjectId(o.key()) >= 0).count();
                    assertThat(dataObjects).as("%s: after the sweep the bucket holds exactly the committed objects", context)
                            .isEqualTo(store.storageSummary().objects());
                }
                assertThat(leftByKill).as("%s: temporary files of killed uploads after the sweep", context)
                        .noneMatch(Files::exists);
                for (Stream s : opened) {
                    Campaigns.verifyAcknowledged(s, ledger, context + " after compaction");
                }
            }
        }
        assertThat(verified).isGreaterThan(ROUNDS * 300L);
        assertThat(rewrittenInChild).as("bytes the children's compaction wrote before the kills").isPositive();
        Campaigns.report("CrashWithReadersTest", "rounds=" + ROUNDS + " batchesVerified=" + verified
                + " batchesReadInChild=" + readsInChild + " orphansDeletedAfterKills=" + orphansDeleted
                + " temporaryFilesLeftByKills=" + temporaryFilesLeftByKills + " (all deleted by the sweep)"
                + " verifierCompactionTasks=" + compactionTasks + " bytesCompactedInChildren=" + rewrittenInChild + " badReads=0 losses=0");
    }

    private void runChildAndKill(int round, String streams, int killAfterAcks, List<Long> ids) throws Exception {
        // the campaign must kill at least one child after its compaction wrote something: if no earlier
        // round saw that, the last round's kill also waits for compaction progress (at most 2 minutes)
        boolean waitForCompaction = round == ROUNDS - 1 && rewrittenInChild == 0;
        long compactionDeadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        int[] acks = {0};
        long[] reads = {0};
        long[] rewritten = {0};
        try (ChildJvm child = ChildJvm.of(CrashWithReadersChild.class)
                .jvmArgs("-Xmx256m", "-Dio.netty.leakDetection.level=disabled")
                .args(dir.toString(), String.valueOf(round), streams)
                .stderrTo(dir.resolve("child-" + round + ".err")).start()) {
            child.readLinesKillingWhen(line -> {
                String[] f = line.split(" ");
                switch (f[0]) {
                    case "STREAM" -> ids.add(Long.parseLong(f[1]));
                    case "ACK" -> {
                        ledger.ack(Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]));
                        acks[0]++;
                    }
                    case "TRIM" -> ledger.trim(Long.parseLong(f[1]), Long.parseLong(f[2]));
                    case "READ" -> reads[0] = Math.max(reads[0], Long.parseLong(f[1]));
                    case "REWRITTEN" -> rewritten[0] = Math.max(rewritten[0], Long.parseLong(f[1]));
                    case "BAD", "ERR" -> throw new AssertionError("round " + round + ": child reported: " + line);
                    default -> {
                    }
                }
            }, () -> { // SIGKILL
                boolean compactionSeen = !waitForCompaction || rewritten[0] > 0 || System.nanoTime() > compactionDeadline;
                return acks[0] >= killAfterAcks && compactionSeen;
            });
            child.close();
            readsInChild += reads[0];
            rewrittenInChild += rewritten[0];
            assertThat(acks[0]).as("round %d acknowledgements; child stderr:%n%s", round, child.stderr())
                    .isGreaterThanOrEqualTo(killAfterAcks);
        }
    }
}
