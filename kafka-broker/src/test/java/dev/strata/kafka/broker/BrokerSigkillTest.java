package dev.strata.kafka.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.testkit.ChildJvm;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The crash check: {@link BrokerMain} in a child JVM is SIGKILLed while an idempotent
 * {@code acks=all} producer (the Java client's defaults) is streaming to it, and restarted on the
 * same data dir and port; the same producer keeps running, its retries go to the new broker, and
 * afterwards every acknowledged record is at its acknowledged offset, every sent value is there
 * exactly once (no duplicate from a retry of a batch that was durable but not acknowledged), in send
 * order per partition.
 */
@Timeout(300) // a hang guard: the child broker preallocates a 1 GiB WAL on a disk shared with other builds
class BrokerSigkillTest {
    private static final int RECORDS = 2_000;
    private static final int KILL_AFTER_ACKS = 500;
    /** At most this many records unacknowledged at once, so that records are in flight when the kill comes. */
    private static final int WINDOW = 100;
    private static final int PARTITIONS = 3;
    private static final String TOPIC = "crash";

    @TempDir
    Path dir;

    /** Every broker process started; killed after the test whatever happened. */
    private final List<ChildJvm> children = new ArrayList<>();

    @AfterEach
    void killChildren() throws InterruptedException {
        for (ChildJvm child : children) {
            child.close();
        }
    }

    /** One acknowledgement: where the broker said the record is. */
    record Ack(int partition, long offset, String value) {
    }

    @Test
    void sigkillMidStreamLosesNoAcknowledgedRecordAndDuplicatesNone() throws Exception {
        Path data = dir.resolve("strata-kafka-data");
        int port = freePort();
        ChildJvm broker = startBroker(data, port, "first");
        children.add(broker);
        Queue<Ack> acks = new ConcurrentLinkedQueue<>();
        Queue<Exception> failures = new ConcurrentLinkedQueue<>();
        CountDownLatch enoughAcks = new CountDownLatch(KILL_AFTER_ACKS);
        AtomicInteger acked = new AtomicInteger();
        Semaphore window = new Semaphore(WINDOW);
        // the sender holds back after KILL_AFTER_ACKS + WINDOW sends until the kill is done, so the kill
        // always comes mid-stream, however late the test thread is scheduled after the 500th ack
        CountDownLatch killed = new CountDownLatch(1);
        try (KafkaProducer<String, String> producer = producer("127.0.0.1:" + port)) {
            Thread sender = new Thread(() -> {
                for (int i = 0; i < RECORDS; i++) {
                    if (i == KILL_AFTER_ACKS + WINDOW) {
                        try {
                            killed.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return;
                        }
                    }
                    window.acquireUninterruptibly();
                    String value = "v" + i;
                    producer.send(new ProducerRecord<>(TOPIC, "key-" + (i % 31), value), (m, e) -> {
                        if (e == null) {
                            acks.add(new Ack(m.partition(), m.offset(), value));
                            acked.incrementAndGet();
                            enoughAcks.countDown();
                        } else {
                            failures.add(e);
                        }
                        window.release();
                    });
                }
            }, "sigkill-test-sender");
            sender.setDaemon(true); // a failed assertion before the kill leaves it waiting: it must not hold the JVM
            sender.start();

            assertThat(enoughAcks.await(60, TimeUnit.SECONDS)).as("%d acknowledgements", KILL_AFTER_ACKS).isTrue();
            broker.kill(); // SIGKILL on Linux: no shutdown hook, nothing flushed or closed
            assertThat(broker.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(broker.process().exitValue()).isEqualTo(137); // 128 + SIGKILL
            int ackedBeforeRestart = acked.get();
            assertThat(ackedBeforeRestart).as("the kill came mid-stream").isLessThan(RECORDS);
            killed.countDown(); // the rest goes to the restarted broker, through the producer's retries

            children.add(startBroker(data, port, "restarted"));
            sender.join(TimeUnit.SECONDS.toMillis(60));
            assertThat(sender.isAlive()).isFalse();
            producer.flush(); // every send completes, through retries to the restarted broker
        }
        assertThat(failures).isEmpty();
        assertThat(acks).hasSize(RECORDS);

        Map<Integer, List<ConsumerRecord<String, String>>> read = readAll("127.0.0.1:" + port);
        Set<String> seen = new HashSet<>();
        int total = 0;
        for (Map.Entry<Integer, List<ConsumerRecord<String, String>>> partition : read.entrySet()) {
            int previous = -1;
            for (ConsumerRecord<String, String> r : partition.getValue()) {
                assertThat(seen.add(r.value())).as("%s read twice (partition %d offset %d)",
                        r.value(), r.partition(), r.offset()).isTrue();
                int index = Integer.parseInt(r.value().substring(1));
                assertThat(index).as("send order in partition %d at offset %d", r.partition(), r.offset())
                        .isGreaterThan(previous);
                previous = index;
                total++;
            }
        }
        assertThat(total).isEqualTo(RECORDS);
        for (Ack ack : acks) {
            List<ConsumerRecord<String, String>> partition = read.get(ack.partition());
            assertThat(partition).as("partition %d", ack.partition()).isNotNull();
            assertThat(ack.offset()).as("acknowledged offset of %s", ack.value()).isBetween(0L, partition.size() - 1L);
            assertThat(partition.get((int) ack.offset()).value()).as("record at acknowledged offset %d of partition %d",
                    ack.offset(), ack.partition()).isEqualTo(ack.value());
        }
    }

    private static KafkaProducer<String, String> producer(String bootstrap) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5); // idempotence and acks=all are the defaults
        return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    }

    /** Every record of the topic, per partition, from offset 0 to the end (offsets checked contiguous). */
    private static Map<Integer, List<ConsumerRecord<String, String>>> readAll(String bootstrap) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        Map<Integer, List<ConsumerRecord<String, String>>> read = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> all = new ArrayList<>();
            for (int i = 0; i < PARTITIONS; i++) {
                all.add(new TopicPartition(TOPIC, i));
                read.put(i, new ArrayList<>());
            }
            consumer.assign(all);
            consumer.seekToBeginning(all);
            Map<TopicPartition, Long> end = consumer.endOffsets(all);
            while (all.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofSeconds(1))) {
                    List<ConsumerRecord<String, String>> partition = read.get(r.partition());
                    assertThat(r.offset()).as("offset in partition %d", r.partition()).isEqualTo(partition.size());
                    partition.add(r);
                }
            }
        }
        return read;
    }

    private ChildJvm startBroker(Path data, int port, String name) throws IOException {
        Path stderr = dir.resolve("broker-" + name + ".err");
        ChildJvm broker = ChildJvm.of(BrokerMain.class)
                .jvmArgs("-XX:TieredStopAtLevel=1") // starts faster; the test measures nothing
                .args("--data-dir", data.toString(), "--port", Integer.toString(port), "--partitions", Integer.toString(PARTITIONS))
                .stderrTo(stderr).start();
        assertThat(broker.readLine()).as("first stdout line of the %s broker; stderr in %s", name, stderr)
                .isEqualTo("strata-kafka-broker accepting connections on 127.0.0.1:" + port);
        return broker;
    }

    /** A port free right now (the restarted broker must listen on the same one: the producer knows only it). */
    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
