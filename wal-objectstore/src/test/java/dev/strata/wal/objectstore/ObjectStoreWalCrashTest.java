package dev.strata.wal.objectstore;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.testkit.ChildJvm;
import dev.strata.wal.WalRecord;
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

    @Test
    void everyRecordAcknowledgedBeforeASigkillIsRecovered() throws Exception {
        TreeMap<Long, long[]> acked = new TreeMap<>(); // record number -> {position, nextPosition}
        try (ChildJvm child = ChildJvm.of(ObjectWalCrashChild.class).jvmArgs("-Xmx256m").args(dir.toString())
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
