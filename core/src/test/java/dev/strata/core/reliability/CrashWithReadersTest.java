package dev.strata.core.reliability;

import static dev.strata.api.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.core.DurableStreamStore;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * never saw a damaged batch. Compaction does not exist yet, so it is not part of the load.
 * CI: 3 rounds; long: 20.
 */
class CrashWithReadersTest {
    private static final int ROUNDS = Campaigns.rounds(3, 20);
    private static final int STREAMS = 4;

    @TempDir
    Path dir;

    private final Campaigns.Ledger ledger = new Campaigns.Ledger();
    private long readsInChild;

    @Test
    void everyAcknowledgedBatchSurvivesSigkillWhileReadersRun() throws Exception {
        SplittableRandom random = new SplittableRandom(Campaigns.BASE_SEED);
        List<Long> ids = new ArrayList<>();
        long verified = 0;
        for (int round = 0; round < ROUNDS; round++) {
            String streams = round == 0 ? "new:" + STREAMS : ids.stream().map(String::valueOf).collect(Collectors.joining(","));
            runChildAndKill(round, streams, 300 + random.nextInt(1500), ids);
            String context = "round " + round + " seed " + Campaigns.BASE_SEED;
            try (DurableStreamStore store = CrashWithReadersChild.builder(dir).build()) {
                for (long id : ids) {
                    verified += Campaigns.verifyAcknowledged(await(store.openStream(id, 2L * round + 1)), ledger,
                            context + "; " + store.recoveryReport().summary());
                }
            }
        }
        assertThat(verified).isGreaterThan(ROUNDS * 300L);
        Campaigns.report("CrashWithReadersTest", "rounds=" + ROUNDS + " batchesVerified=" + verified
                + " batchesReadInChild=" + readsInChild + " badReads=0 losses=0");
    }

    private void runChildAndKill(int round, String streams, int killAfterAcks, List<Long> ids) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Path err = dir.resolve("child-" + round + ".err");
        Process child = new ProcessBuilder(java, "-Xmx256m", "-Dio.netty.leakDetection.level=disabled", "-cp",
                System.getProperty("java.class.path"), CrashWithReadersChild.class.getName(), dir.toString(),
                String.valueOf(round), streams).redirectError(err.toFile()).start();
        int acks = 0;
        long reads = 0;
        boolean killed = false;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = readLine(out, killed)) != null) {
                String[] f = line.split(" ");
                switch (f[0]) {
                    case "STREAM" -> ids.add(Long.parseLong(f[1]));
                    case "ACK" -> {
                        ledger.ack(Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]));
                        acks++;
                    }
                    case "TRIM" -> ledger.trim(Long.parseLong(f[1]), Long.parseLong(f[2]));
                    case "READ" -> reads = Math.max(reads, Long.parseLong(f[1]));
                    case "BAD", "ERR" -> {
                        child.destroyForcibly();
                        throw new AssertionError("round " + round + ": child reported: " + line);
                    }
                    default -> {
                    }
                }
                if (!killed && acks >= killAfterAcks) {
                    child.destroyForcibly(); // SIGKILL
                    killed = true;
                }
            }
        } finally {
            child.destroyForcibly();
            assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
        readsInChild += reads;
        assertThat(acks).as("round %d acknowledgements; child stderr:%n%s", round, Files.readString(err))
                .isGreaterThanOrEqualTo(killAfterAcks);
    }

    private static String readLine(BufferedReader out, boolean killed) throws IOException {
        try {
            return out.readLine();
        } catch (IOException e) {
            if (killed) {
                return null; // the pipe closed under the read after the kill
            }
            throw e;
        }
    }
}
