package dev.strata.wal.objectstore;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.testkit.ChildJvm;
import dev.strata.wal.api.WalRecord;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real crash: a child JVM appends through the object-store WAL and is SIGKILLed after a number of
 * acknowledgements; a fresh WAL on the same directory must return every acknowledged record at its
 * position, in order, and its fence must stop nothing it needs.
 */
class ObjectStoreWalCrashTest {
    @TempDir
    Path dir;

    /**
     * Takeover of a live writer: the child is paused (SIGSTOP), another WAL opens the prefix and
     * reads its records, the child continues (SIGCONT). Every record the child ever acknowledges
     * must be among those the taker recovered, at the same position, and the child must fail with
     * {@code StreamFencedException}.
     */
    @Test
    void aPausedWriterThatContinuesAfterATakeoverAcknowledgesNothingTheTakerMissed() throws Exception {
        TreeMap<Long, long[]> acked = new TreeMap<>();
        String failure = null;
        TreeMap<Long, long[]> taken = new TreeMap<>();
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        try (ChildJvm child = ChildJvm.of(ObjectWalCrashChild.class).jvmArgs("-Xmx256m").args(dir.toString())
                .watchdog(java.time.Duration.ofMinutes(2))
                .stderrTo(dir.resolve("child.err")).start();
             LocalObjectStorage storage = LocalObjectStorage.open(dir)) {
            while (acked.size() < 1000) {
                String line = child.readLine();
                assertThat(line).as("child output ended early").isNotNull();
                parseAck(line, acked);
            }
            signal("STOP", child.pid());
            ObjectStoreWal taker = ObjectStoreWal.open(storage, ObjectWalOptions.defaults("node-a"),
                    FlushScheduler.of(timer), PooledByteBufAllocator.DEFAULT);
            try (ObjectWalRecovery r = taker.recover()) {
                while (r.hasNext()) {
                    WalRecord rec = r.next();
                    try {
                        taken.put(rec.body().getLong(rec.body().readerIndex()),
                                new long[] {rec.position(), rec.nextPosition()});
                    } finally {
                        rec.body().release();
                    }
                }
            }
            signal("CONT", child.pid());
            for (String line; failure == null && (line = child.readLine()) != null; ) {
                parseAck(line, acked);
                if (line.startsWith("FAIL ")) {
                    failure = line;
                }
            }
            child.kill();
            taker.close();
        } finally {
            timer.shutdownNow();
        }
        assertThat(failure).as("the paused writer is fenced once it continues").endsWith("StreamFencedException");
        for (var e : acked.entrySet()) {
            assertThat(taken).as("acknowledged record " + e.getKey()).containsKey(e.getKey());
            assertThat(taken.get(e.getKey())).containsExactly(e.getValue());
        }
    }

    private static void parseAck(String line, TreeMap<Long, long[]> acked) {
        if (line.startsWith("ACK ")) {
            String[] p = line.split(" ");
            acked.put(Long.parseLong(p[1]), new long[] {Long.parseLong(p[2]), Long.parseLong(p[3])});
        }
    }

    private static void signal(String signal, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start();
        assertThat(kill.waitFor()).as("kill -" + signal).isZero();
    }

    @Test
    void everyRecordAcknowledgedBeforeASigkillIsRecovered() throws Exception {
        TreeMap<Long, long[]> acked = new TreeMap<>(); // record number -> {position, nextPosition}
        try (ChildJvm child = ChildJvm.of(ObjectWalCrashChild.class).jvmArgs("-Xmx256m").args(dir.toString())
                .watchdog(java.time.Duration.ofMinutes(2))
                .stderrTo(dir.resolve("child.err")).start()) {
            child.readLinesKillingWhen(line -> {
                if (line.startsWith("ACK ")) {
                    String[] p = line.split(" ");
                    acked.put(Long.parseLong(p[1]), new long[] {Long.parseLong(p[2]), Long.parseLong(p[3])});
                }
            }, () -> acked.size() >= 2000);
        }
        assertThat(acked).hasSizeGreaterThanOrEqualTo(2000);
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        try (LocalObjectStorage storage = LocalObjectStorage.open(dir)) {
            ObjectStoreWal wal = ObjectStoreWal.open(storage, ObjectWalOptions.defaults("node-a"),
                    FlushScheduler.of(timer), PooledByteBufAllocator.DEFAULT);
            List<long[]> recovered = new ArrayList<>(); // {record number, position, nextPosition}
            try (ObjectWalRecovery r = wal.recover()) {
                while (r.hasNext()) {
                    WalRecord rec = r.next();
                    try {
                        recovered.add(new long[] {rec.body().getLong(rec.body().readerIndex()), rec.position(),
                                rec.nextPosition()});
                    } finally {
                        rec.body().release();
                    }
                }
            }
            for (int i = 0; i < recovered.size(); i++) {
                assertThat(recovered.get(i)[0]).as("records in append order, none missing").isEqualTo(i);
                if (i > 0) {
                    assertThat(recovered.get(i)[1]).isEqualTo(recovered.get(i - 1)[2]);
                }
            }
            assertThat(recovered.size()).as("every acknowledged record").isGreaterThanOrEqualTo(acked.size());
            for (var e : acked.entrySet()) {
                long[] got = recovered.get(Math.toIntExact(e.getKey()));
                assertThat(got[1]).isEqualTo(e.getValue()[0]);
                assertThat(got[2]).isEqualTo(e.getValue()[1]);
            }
            assertThat(wal.writePosition()).isEqualTo(recovered.get(recovered.size() - 1)[2]);
            wal.close();
        } finally {
            timer.shutdownNow();
        }
    }
}
