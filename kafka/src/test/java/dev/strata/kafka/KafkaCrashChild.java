package dev.strata.kafka;

import dev.strata.core.DurableStreamStore;
import dev.strata.core.Strata;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.zip.CRC32;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.SimpleRecord;

/**
 * The process {@link KafkaPartitionLogCrashTest} kills: creates a {@link KafkaPartitionLog} on a
 * durable store in a directory, then appends to it from {@value #IDEMPOTENT} idempotent producers
 * (each with up to {@value #IN_FLIGHT} batches in flight, in sequence order, as Kafka's producer
 * pipelines) and {@value #PLAIN} plain producers, without end, printing a line per acknowledgement.
 * Lines: {@code STREAMS dataStreamId metaStreamId}, then
 * {@code ACK thread n producerId producerEpoch firstSeq baseOffset lastOffset crc32} where the
 * client batch is {@link #clientBatch(int, long, long, int)} and the crc covers its bytes.
 *
 * <p>Args: {@code dir}.
 */
public final class KafkaCrashChild {
    static final int IDEMPOTENT = 3;
    static final int PLAIN = 2;
    /** At most this many batches per idempotent producer in flight: the last acknowledged one is then among its five newest. */
    static final int IN_FLIGHT = 4;
    static final long NOW = 1_750_000_000_000L;
    static final short PRODUCER_EPOCH = 3;

    private KafkaCrashChild() {
    }

    static DurableStreamStore openStore(Path dir) {
        return Strata.builder()
                .dataDir(dir)
                .walCapacity(32L << 20)
                .logCacheBytes(16L << 20)
                .blockCacheBytes(4L << 20)
                .uploadThresholdBytes(256L << 10)
                .uploadInterval(Duration.ofMillis(100))
                .maxBatchBytes(64 * 1024)
                .objectBlockBytes(32 * 1024)
                .build();
    }

    /** Small snapshot interval: the crash lands after some snapshots, so recovery loads one and replays a tail. */
    static PartitionLogConfig config() {
        return PartitionLogConfig.builder().maxMessageBytes(64 * 1024).snapshotIntervalBytes(32 * 1024)
                .clock(Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC)).build();
    }

    /** The producer id of idempotent producer thread {@code thread}, or -1 for a plain one. */
    static long producerId(int thread) {
        return thread < IDEMPOTENT ? 5000 + thread : -1;
    }

    /** Batch {@code n} of producer thread {@code thread} as the client sends it (base offset 0); deterministic. */
    static MemoryRecords clientBatch(int thread, long n, long producerId, int firstSeq) {
        Random random = new Random(thread * 1_000_003L + n);
        int count = 1 + random.nextInt(6);
        SimpleRecord[] records = new SimpleRecord[count];
        for (int i = 0; i < count; i++) {
            byte[] value = new byte[random.nextInt(600)];
            random.nextBytes(value);
            records[i] = new SimpleRecord(NOW - 1000 + n % 1000, ("t" + thread + "-n" + n + "-r" + i).getBytes(), value);
        }
        Compression compression = n % 3 == 0 ? Compression.lz4().build() : Compression.NONE;
        return producerId < 0 ? MemoryRecords.withRecords(compression, records)
                : MemoryRecords.withIdempotentRecords(compression, producerId, PRODUCER_EPOCH, firstSeq, records);
    }

    static long crc(MemoryRecords records) {
        CRC32 crc = new CRC32();
        crc.update(records.buffer());
        return crc.getValue();
    }

    public static void main(String[] args) throws Exception {
        DurableStreamStore store = openStore(Path.of(args[0])); // never closed: the test kills this process
        KafkaPartitionLog log = KafkaPartitionLog.create(store, 0, config()).join();
        synchronized (System.out) {
            System.out.println("STREAMS " + log.streamId() + " " + log.metaStreamId());
            System.out.flush();
        }
        for (int t = 0; t < IDEMPOTENT + PLAIN; t++) {
            int thread = t;
            Thread producer = new Thread(() -> produce(log, thread), "producer-" + t);
            producer.start();
        }
        Thread.currentThread().join(); // until killed
    }

    private static void produce(KafkaPartitionLog log, int thread) {
        long producerId = producerId(thread);
        Semaphore inFlight = new Semaphore(producerId < 0 ? 1 : IN_FLIGHT);
        int seq = 0;
        try {
            for (long n = 0; ; n++) {
                inFlight.acquire();
                MemoryRecords batch = clientBatch(thread, n, producerId, seq);
                long crc = crc(batch);
                int count = batch.batches().iterator().next().countOrNull();
                int firstSeq = seq;
                long batchNo = n;
                CompletableFuture<AppendInfo> f = log.appendAsLeader(batch, 0);
                seq += producerId < 0 ? 0 : count;
                f.whenComplete((info, error) -> {
                    synchronized (System.out) {
                        if (error == null) {
                            System.out.println("ACK " + thread + " " + batchNo + " " + producerId + " " + PRODUCER_EPOCH + " "
                                    + firstSeq + " " + info.baseOffset() + " " + info.lastOffset() + " " + crc);
                        } else {
                            System.out.println("ERR " + thread + " " + batchNo + " " + error);
                        }
                        System.out.flush();
                    }
                    // only after the acknowledgement is printed: the test relies on at most four
                    // batches per producer beyond its newest printed one (released before the print,
                    // a loaded machine let more be sent and stored while prints were pending)
                    inFlight.release();
                });
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
