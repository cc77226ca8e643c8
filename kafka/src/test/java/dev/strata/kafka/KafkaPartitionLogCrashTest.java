package dev.strata.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.core.DurableStreamStore;
import dev.strata.testkit.ChildJvm;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.MutableRecordBatch;
import org.apache.kafka.common.record.internal.Record;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash of the process holding a partition log (issue 20): a child JVM ({@link KafkaCrashChild})
 * appends through {@link KafkaPartitionLog} from idempotent (pipelined) and plain producers and
 * prints each acknowledgement; after {@value #KILL_AFTER_ACKS} acknowledgements have been read the
 * test kills it with SIGKILL (no close, no final snapshot), reopens the store and the log with both
 * stream ids, and checks: every acknowledged batch is at its offset with exactly the bytes the log
 * stamped (client bytes with offsets and leader epoch set), offsets are contiguous from 0 to the log
 * end, no batch is stored twice; retries of each idempotent producer's acknowledged batches still
 * among its last five are answered as duplicates with the original offsets and store nothing, and a
 * new batch continues each producer's sequence. Deterministic: the kill follows a count of
 * acknowledgements, not time.
 */
class KafkaPartitionLogCrashTest {
    private static final int KILL_AFTER_ACKS = 800;

    @TempDir
    Path dir;

    record Ack(int thread, long n, long producerId, short producerEpoch, int firstSeq, long baseOffset, long lastOffset,
               long crc) {
    }

    /** A batch read back, with the producer thread and batch number its first record's key names. */
    record Stored(int thread, long n, byte[] bytes, MutableRecordBatch batch) {
    }

    @Test
    void everyAcknowledgedBatchSurvivesSigkillAndIdempotentRetriesAreDuplicates() throws Exception {
        long[] ids = new long[2];
        List<Ack> acks = runChildAndKill(ids);

        try (DurableStreamStore store = KafkaCrashChild.openStore(dir.resolve("store"))) {
            KafkaPartitionLog log = KafkaPartitionLog.open(store, ids[0], ids[1], 1, KafkaCrashChild.config()).join();
            TreeMap<Long, Stored> stored = readAll(log);

            for (Ack ack : acks) {
                Stored s = stored.get(ack.baseOffset());
                assertThat(s).as("acknowledged batch %s", ack).isNotNull();
                assertThat(List.of(s.thread(), s.n())).as("batch at %d", ack.baseOffset()).isEqualTo(List.of(ack.thread(), ack.n()));
                MemoryRecords client = KafkaCrashChild.clientBatch(ack.thread(), ack.n(), ack.producerId(), ack.firstSeq());
                assertThat(KafkaCrashChild.crc(client)).as("regenerated client batch of %s", ack).isEqualTo(ack.crc());
                MutableRecordBatch expected = client.batches().iterator().next();
                expected.setLastOffset(ack.lastOffset());
                expected.setPartitionLeaderEpoch(0);
                assertThat(ack.lastOffset() - ack.baseOffset() + 1).isEqualTo((long) expected.countOrNull());
                assertThat(s.bytes()).as("bytes of %s", ack).isEqualTo(Batches.bytes(client));
            }

            long end = log.logEndOffset();
            System.out.println("after SIGKILL: " + acks.size() + " acknowledged batches read back, " + stored.size()
                    + " stored (in flight at the kill: " + (stored.size() - acks.size()) + "), log end offset " + end);
            for (int thread = 0; thread < KafkaCrashChild.IDEMPOTENT; thread++) {
                retryAcknowledgedAndContinue(log, thread, acks, stored);
            }
            assertThat(log.logEndOffset()).as("retries stored nothing; one new batch per producer")
                    .isEqualTo(end + newBatchOffsets);
            log.close();
        }
    }

    private long newBatchOffsets;

    /**
     * Retries the producer's acknowledged batches that are among its last five stored ones (the
     * newest acknowledged one always is: at most four more were in flight), then sends the next.
     */
    private void retryAcknowledgedAndContinue(KafkaPartitionLog log, int thread, List<Ack> acks, TreeMap<Long, Stored> stored) {
        long producerId = KafkaCrashChild.producerId(thread);
        List<Stored> mine = stored.values().stream().filter(s -> s.thread() == thread).toList();
        List<Stored> lastFive = mine.subList(Math.max(0, mine.size() - ProducerStateTable.BATCHES_TO_RETAIN), mine.size());
        Set<Long> lastFiveN = new HashSet<>();
        lastFive.forEach(s -> lastFiveN.add(s.n()));
        List<Ack> acked = acks.stream().filter(a -> a.thread() == thread).toList();
        assertThat(acked).as("acknowledgements of producer thread %d", thread).isNotEmpty();
        assertThat(lastFiveN).as("the newest acknowledged batch of producer %d is among its last five", producerId)
                .contains(acked.get(acked.size() - 1).n());
        int retried = 0;
        for (Ack ack : acked) {
            if (!lastFiveN.contains(ack.n())) {
                continue;
            }
            MemoryRecords retry = KafkaCrashChild.clientBatch(thread, ack.n(), producerId, ack.firstSeq());
            AppendInfo answer = log.appendAsLeader(retry, 1).join();
            assertThat(List.of(answer.baseOffset(), answer.lastOffset())).as("retry of %s", ack)
                    .isEqualTo(List.of(ack.baseOffset(), ack.lastOffset()));
            retried++;
        }
        assertThat(retried).isPositive();
        MutableRecordBatch newest = lastFive.get(lastFive.size() - 1).batch();
        long end = log.logEndOffset();
        MemoryRecords next = KafkaCrashChild.clientBatch(thread, lastFive.get(lastFive.size() - 1).n() + 1, producerId,
                newest.lastSequence() + 1);
        AppendInfo info = log.appendAsLeader(next, 1).join();
        assertThat(info.baseOffset()).as("a new batch of producer %d continues the sequence", producerId).isEqualTo(end);
        newBatchOffsets += info.lastOffset() - info.baseOffset() + 1;
    }

    /** Every batch from 0 to the log end; asserts offsets are contiguous and no batch is stored twice. */
    private static TreeMap<Long, Stored> readAll(KafkaPartitionLog log) {
        assertThat(log.logStartOffset()).isZero();
        TreeMap<Long, Stored> out = new TreeMap<>();
        Set<List<Long>> seen = new HashSet<>();
        long next = 0;
        while (next < log.logEndOffset()) {
            MemoryRecords records = Batches.read(log, next, 256 * 1024, Isolation.HIGH_WATERMARK, true);
            ByteBuffer bytes = records.buffer();
            for (MutableRecordBatch b : records.batches()) {
                assertThat(b.baseOffset()).as("contiguous offsets").isEqualTo(next);
                Record first = b.iterator().next();
                String[] key = StandardCharsets.UTF_8.decode(first.key()).toString().split("-");
                int thread = Integer.parseInt(key[0].substring(1));
                long n = Long.parseLong(key[1].substring(1));
                assertThat(seen.add(List.of((long) thread, n))).as("batch %d of thread %d stored once", n, thread).isTrue();
                byte[] copy = new byte[b.sizeInBytes()];
                bytes.get(copy); // the batches lie back to back
                out.put(b.baseOffset(), new Stored(thread, n, copy,
                        MemoryRecords.readableRecords(ByteBuffer.wrap(copy)).batches().iterator().next()));
                next = b.nextOffset();
            }
        }
        assertThat(next).isEqualTo(log.logEndOffset());
        return out;
    }

    private List<Ack> runChildAndKill(long[] ids) throws Exception {
        List<Ack> acks = new ArrayList<>();
        Map<Integer, Long> lastN = new HashMap<>();
        try (ChildJvm child = ChildJvm.of(KafkaCrashChild.class).jvmArgs("-Xmx256m")
                .args(dir.resolve("store").toString()).stderrTo(dir.resolve("child.err")).start()) {
            child.readLinesKillingWhen(line -> {
                String[] f = line.split(" ");
                switch (f[0]) {
                    case "STREAMS" -> {
                        ids[0] = Long.parseLong(f[1]);
                        ids[1] = Long.parseLong(f[2]);
                    }
                    case "ACK" -> {
                        Ack ack = new Ack(Integer.parseInt(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]),
                                Short.parseShort(f[4]), Integer.parseInt(f[5]), Long.parseLong(f[6]), Long.parseLong(f[7]),
                                Long.parseLong(f[8]));
                        // a producer's acknowledgements come in its order (the stream completes in offset order)
                        assertThat(ack.n()).isGreaterThan(lastN.getOrDefault(ack.thread(), -1L));
                        lastN.put(ack.thread(), ack.n());
                        acks.add(ack);
                    }
                    case "ERR" -> throw new AssertionError("child append failed: " + line);
                    default -> {
                    }
                }
            }, () -> acks.size() >= KILL_AFTER_ACKS); // SIGKILL: no close, no close snapshot, no final upload
            child.close();
            assertThat(acks.size()).as("acknowledgements; child stderr:%n%s", child.stderr())
                    .isGreaterThanOrEqualTo(KILL_AFTER_ACKS);
        }
        return acks;
    }
}
