package dev.strata.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.testkit.AckLedger;
import dev.strata.testkit.ChildJvm;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replacing a machine without its disk (issue 24): process A ({@link DisklessChild}) runs a store whose
 * WAL and objects are all in its prefix of the object store ({@code node-a/} of a directory standing
 * in for the bucket; A has no local data directory), appends, and is killed (SIGKILL) or paused
 * (SIGSTOP) mid-stream. Process B, this
 * JVM, opens the same bucket with no access to anything else of A's: it fences A, replays A's WAL
 * objects and serves every batch A acknowledged, at its offset. A paused A that wakes up
 * (SIGCONT) acknowledges nothing more, and nothing it writes afterwards becomes visible.
 */
class DisklessTakeoverTest {
    private static final int STREAMS = 4;

    @TempDir
    Path bucket;

    private final AckLedger ledger = new AckLedger();
    private final List<Long> ids = new ArrayList<>();
    private final List<String> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Counted down by A's first failed append. */
    private final CountDownLatch fenced = new CountDownLatch(1);

    private ChildJvm startA() throws Exception {
        return ChildJvm.of(DisklessChild.class).jvmArgs("-Xmx256m")
                .args(bucket.resolve("node-a").toString(), String.valueOf(STREAMS))
                .stderrTo(bucket.resolve("a.err")).start();
    }

    /** Reads A's lines into the ledger until {@code acks} acknowledgements were seen, then SIGKILLs A. */
    private void readUntil(ChildJvm a, int acks) {
        a.readLinesKillingWhen(this::handle, () -> ledger.acknowledged() >= acks);
    }

    /** One line of A's: a stream, an acknowledgement (an offset acknowledged twice fails), a failed append. */
    private void handle(String line) {
        String[] f = line.split(" ");
        switch (f[0]) {
            case "STREAM" -> ids.add(Long.parseLong(f[1]));
            case "ACK" -> ledger.ack(Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[4]));
            case "ERR" -> {
                errors.add(line);
                fenced.countDown();
            }
            default -> {
            }
        }
    }

    /**
     * Node A dies; node B, which serves its own prefix of the same bucket, adopts A's prefix as a
     * second store in its JVM and serves A's streams beside its own.
     */
    @Test
    void afterASigkillAnotherNodeAdoptsThePrefixAsASecondStoreAndServesEveryAcknowledgedBatch() throws Exception {
        try (DurableStreamStore own = StoreFixtures.diskless(bucket.resolve("node-b")).build()) {
            Stream mine = own.createStream(StreamOptions.defaults()).join();
            mine.append(RecordBatch.of(1, ByteBuffer.wrap(new byte[] {1}))).join();
            try (ChildJvm a = startA()) {
                readUntil(a, 400);
                a.close(); // readLinesKillingWhen killed it (SIGKILL): no close, no upload
            }
            assertThat(errors).as("A's appends before its death").isEmpty();
            assertThat(Files.exists(bucket.resolve("node-a").resolve("wal"))).as("A's WAL is in the bucket").isTrue();

            long verified;
            try (DurableStreamStore adopted = StoreFixtures.diskless(bucket.resolve("node-a")).build()) {
                assertThat(adopted.recoveryReport().wal().records()).as("A's WAL objects replayed").isPositive();
                verified = verify(adopted, 1);
                for (long id : ids) { // and the adopted streams go on after A's data
                    Stream s = adopted.openStream(id, 2).join();
                    long next = s.nextOffset();
                    assertThat(s.append(RecordBatch.of(1, ByteBuffer.wrap(new byte[] {7}))).join().baseOffset())
                            .isEqualTo(next);
                }
            }
            assertThat(verified).isGreaterThanOrEqualTo(400);
            assertThat(mine.append(RecordBatch.of(1, ByteBuffer.wrap(new byte[] {2}))).join().baseOffset())
                    .as("B's own store was not disturbed").isEqualTo(1);
        }
    }

    @Test
    void aPausedProcessThatWakesUpAfterTheTakeoverAcknowledgesNothingAndWritesNothingVisible() throws Exception {
        try (ChildJvm a = startA()) {
            // A's lines are read on a thread: A prints until it is paused, and again once it continues
            CountDownLatch enough = new CountDownLatch(1);
            Throwable[] readerFailure = {null};
            Thread reader = new Thread(() -> {
                try {
                    for (String line; (line = a.readLine()) != null; ) {
                        synchronized (ledger) {
                            handle(line); // an offset acknowledged by both A and B fails here
                        }
                        if (ledger.acknowledged() >= 300) {
                            enough.countDown();
                        }
                    }
                } catch (Throwable t) {
                    readerFailure[0] = t;
                    fenced.countDown();
                }
            }, "a-stdout");
            reader.start();
            assertThat(enough.await(2, TimeUnit.MINUTES)).as("A acknowledged 300 batches; stderr:%n%s", a.stderr()).isTrue();
            signal(a, "STOP");
            try (DurableStreamStore b = StoreFixtures.diskless(bucket.resolve("node-a")).build()) {
                synchronized (ledger) {
                    assertThat(errors).as("A's appends before the pause").isEmpty();
                    verify(b, 1); // every batch A acknowledged so far (lines still in the pipe are checked at the end)
                }
                for (long id : ids) {
                    Stream s = b.openStream(id, 2).join();
                    for (int i = 0; i < 3; i++) {
                        long seed = 900_000_000_000L + id * 1000 + i;
                        long base = s.append(RecordBatch.of(CrashChild.count(seed), ByteBuffer.wrap(CrashChild.payload(seed))))
                                .join().baseOffset();
                        synchronized (ledger) {
                            ledger.ack(id, base, seed);
                        }
                    }
                }
                signal(a, "CONT"); // A wakes up while B serves: its WAL writes collide with B's fence
                assertThat(fenced.await(1, TimeUnit.MINUTES)).as("A reported failed appends after waking up; stderr:%n%s",
                        a.stderr()).isTrue();
            }
            a.kill();
            reader.join(TimeUnit.MINUTES.toMillis(1));
            assertThat(readerFailure[0]).as("every line of A's was consistent with B's").isNull();
        }
        assertThat(errors).as("A's appends after waking up fail: fenced, then refused by the failed stream")
                .allSatisfy(e -> assertThat(e).containsAnyOf("StreamFencedException", "StreamClosedException"))
                .anySatisfy(e -> assertThat(e).contains("StreamFencedException"));
        try (DurableStreamStore c = StoreFixtures.diskless(bucket.resolve("node-a")).build()) {
            verify(c, 3); // A's acknowledged batches (also those read after the pause) and B's
            for (long id : ids) {
                Stream s = c.openStream(id, 4).join();
                TreeMap<Long, Long> acked = ledger.of(id);
                long end = acked.lastKey() + CrashChild.count(acked.lastEntry().getValue());
                assertThat(s.nextOffset()).as("stream %d ends with B's last append: nothing of A's after it", id)
                        .isEqualTo(end);
            }
        }
    }

    private static void signal(ChildJvm a, String signal) throws Exception {
        Process p = new ProcessBuilder("kill", "-" + signal, Long.toString(a.pid())).inheritIO().start();
        assertThat(p.waitFor()).as("kill -%s %d", signal, a.pid()).isZero();
    }

    /** Every acknowledged batch of the ledger reads back at its offset with its bytes, in a store opened at epoch {@code epoch}. */
    private long verify(DurableStreamStore store, long epoch) {
        long verified = 0;
        for (long id : ids) {
            TreeMap<Long, Long> acked = ledger.of(id);
            Stream s = store.openStream(id, epoch).join();
            Map<Long, byte[]> stored = new HashMap<>();
            Map<Long, Integer> counts = new HashMap<>();
            long offset = s.startOffset();
            while (offset < s.nextOffset()) {
                try (FetchResult r = s.fetch(offset, Long.MAX_VALUE, 256 * 1024).join()) {
                    for (FetchedBatch b : r.batches()) {
                        assertThat(b.baseOffset()).as("contiguous").isEqualTo(offset);
                        byte[] bytes = new byte[b.sizeBytes()];
                        b.payload().get(bytes);
                        stored.put(b.baseOffset(), bytes);
                        counts.put(b.baseOffset(), b.count());
                        offset = b.nextOffset();
                    }
                }
            }
            for (Map.Entry<Long, Long> e : acked.entrySet()) {
                assertThat(stored.get(e.getKey())).as("stream %d acknowledged batch at %d", id, e.getKey())
                        .isEqualTo(CrashChild.payload(e.getValue()));
                assertThat(counts.get(e.getKey())).isEqualTo(CrashChild.count(e.getValue()));
                verified++;
            }
        }
        return verified;
    }
}
