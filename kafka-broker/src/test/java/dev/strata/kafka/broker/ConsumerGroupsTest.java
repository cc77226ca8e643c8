package dev.strata.kafka.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A group of real KafkaConsumers (kafka-clients 4.3.1, {@code group.protocol=classic}, subscribe, manual
 * commitSync) against the broker: exactly-once-in-order consumption, a member leaving, consumers and the
 * broker restarting, and the admin client's group views.
 */
@Timeout(300)
class ConsumerGroupsTest {
    private static final String TOPIC = "orders";
    private static final String GROUP = "billing";
    private static final int PARTITIONS = 6;

    @TempDir
    Path dir;

    private final ExecutorService threads = Executors.newCachedThreadPool();
    /** Every value consumed, per partition, in consumption order (over all consumers and phases). */
    private final Map<Integer, List<String>> consumed = new ConcurrentHashMap<>();
    /** Every value produced, per partition, in offset order. */
    private final Map<Integer, List<String>> produced = new HashMap<>();
    private final AtomicInteger consumedCount = new AtomicInteger();

    @AfterEach
    void stopThreads() {
        threads.shutdownNow();
    }

    private static KafkaConsumer<String, String> consumer(String bootstrap, String clientId) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, GROUP);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 25); // many polls and commits per partition
        KafkaConsumer<String, String> c = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
        c.subscribe(List.of(TOPIC));
        return c;
    }

    private static Admin admin(String bootstrap) {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
    }

    private void produce(String bootstrap, int count, String prefix) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                acks.add(producer.send(new ProducerRecord<>(TOPIC, "key-" + (i % 23), prefix + i)));
            }
            for (int i = 0; i < count; i++) {
                RecordMetadata m = acks.get(i).get();
                List<String> values = produced.computeIfAbsent(m.partition(), k -> new ArrayList<>());
                assertThat(m.offset()).isEqualTo(values.size());
                values.add(prefix + i);
            }
        }
    }

    private int producedCount() {
        return produced.values().stream().mapToInt(List::size).sum();
    }

    /**
     * Each consumer polls on its own thread, records what it gets (checking each record continues its
     * partition: no gap, no repeat) and commits synchronously, until {@code total} records were consumed
     * over all phases and every consumer holds an equal share of the partitions (so a late joiner's
     * rebalance completes before they stop). Fails if any consumer fails (a CommitFailedException included).
     */
    private void consumeUntil(List<KafkaConsumer<String, String>> consumers, int total) throws Exception {
        List<Future<?>> loops = new ArrayList<>();
        Map<Integer, Integer> shares = new ConcurrentHashMap<>(); // consumer index -> partitions assigned
        int share = PARTITIONS / consumers.size();
        for (int i = 0; i < consumers.size(); i++) {
            KafkaConsumer<String, String> c = consumers.get(i);
            int index = i;
            loops.add(threads.submit(() -> {
                while (consumedCount.get() < total || shares.size() < consumers.size()
                        || shares.values().stream().anyMatch(n -> n != share)) {
                    ConsumerRecords<String, String> records = c.poll(Duration.ofMillis(200));
                    for (ConsumerRecord<String, String> r : records) {
                        List<String> values = consumed.computeIfAbsent(r.partition(),
                                k -> Collections.synchronizedList(new ArrayList<>()));
                        synchronized (values) {
                            assertThat(r.offset()).as("offset in partition %d", r.partition()).isEqualTo(values.size());
                            values.add(r.value());
                        }
                        consumedCount.incrementAndGet();
                    }
                    if (!records.isEmpty()) {
                        c.commitSync();
                    }
                    shares.put(index, c.assignment().size());
                }
                return null;
            }));
        }
        for (Future<?> loop : loops) {
            loop.get(240, TimeUnit.SECONDS);
        }
        assertThat(consumedCount.get()).isEqualTo(total);
    }

    private Map<TopicPartition, Long> endOffsets() {
        Map<TopicPartition, Long> ends = new HashMap<>();
        produced.forEach((p, values) -> ends.put(new TopicPartition(TOPIC, p), (long) values.size()));
        return ends;
    }

    private static Map<TopicPartition, Long> committed(Admin admin) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(GROUP)
                .partitionsToOffsetAndMetadata().get();
        return offsets.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().offset()));
    }

    @Test
    void aGroupOfThreeConsumesEveryRecordOnceRebalancesAndResumesAtCommittedOffsets() throws Exception {
        try (TestBroker broker = new TestBroker(dir, 1); Admin admin = admin(broker.bootstrap())) {
            admin.createTopics(List.of(new NewTopic(TOPIC, PARTITIONS, (short) 1))).all().get();
            produce(broker.bootstrap(), 600, "a");

            // three consumers share the six partitions
            List<KafkaConsumer<String, String>> group = new ArrayList<>(List.of(consumer(broker.bootstrap(), "c1"),
                    consumer(broker.bootstrap(), "c2"), consumer(broker.bootstrap(), "c3")));
            consumeUntil(group, producedCount());
            assertThat(consumed).isEqualTo(produced);
            for (KafkaConsumer<String, String> c : group) {
                assertThat(c.assignment()).hasSize(2);
            }

            ConsumerGroupDescription described = admin.describeConsumerGroups(List.of(GROUP)).all().get().get(GROUP);
            assertThat(described.groupState()).isEqualTo(GroupState.STABLE);
            assertThat(described.members()).extracting(MemberDescription::clientId)
                    .containsExactlyInAnyOrder("c1", "c2", "c3");
            Set<TopicPartition> assigned = new HashSet<>();
            described.members().forEach(m -> assigned.addAll(m.assignment().topicPartitions()));
            assertThat(assigned).hasSize(PARTITIONS);
            assertThat(admin.listConsumerGroups().all().get()).extracting(l -> l.groupId()).contains(GROUP);
            assertThat(admin.listGroups().all().get()).extracting(GroupListing::groupId).contains(GROUP);
            assertThat(committed(admin)).isEqualTo(endOffsets());

            // one consumer leaves: the other two take over its partitions
            group.remove(2).close();
            produce(broker.bootstrap(), 300, "b");
            consumeUntil(group, producedCount());
            assertThat(consumed).isEqualTo(produced);
            Set<TopicPartition> remaining = new HashSet<>(group.get(0).assignment());
            remaining.addAll(group.get(1).assignment());
            assertThat(remaining).hasSize(PARTITIONS);
            assertThat(admin.describeConsumerGroups(List.of(GROUP)).all().get().get(GROUP).members()).hasSize(2);

            // consumers restart: they resume at the committed offsets (no record consumed twice)
            group.forEach(KafkaConsumer::close);
            produce(broker.bootstrap(), 300, "c");
            List<KafkaConsumer<String, String>> restarted = List.of(consumer(broker.bootstrap(), "d1"),
                    consumer(broker.bootstrap(), "d2"), consumer(broker.bootstrap(), "d3"));
            consumeUntil(restarted, producedCount());
            assertThat(consumed).isEqualTo(produced);
            restarted.forEach(KafkaConsumer::close);
            assertThat(admin.describeConsumerGroups(List.of(GROUP)).all().get().get(GROUP).groupState())
                    .isEqualTo(GroupState.EMPTY);
            assertThat(committed(admin)).isEqualTo(endOffsets());
        }
    }

    @Test
    void committedOffsetsSurviveABrokerRestart() throws Exception {
        try (TestBroker broker = new TestBroker(dir, 1)) {
            try (Admin admin = admin(broker.bootstrap())) {
                admin.createTopics(List.of(new NewTopic(TOPIC, PARTITIONS, (short) 1))).all().get();
            }
            produce(broker.bootstrap(), 300, "a");
            try (KafkaConsumer<String, String> c = consumer(broker.bootstrap(), "c1")) {
                consumeUntil(List.of(c), producedCount());
            }

            broker.restart();

            try (Admin admin = admin(broker.bootstrap())) {
                assertThat(committed(admin)).isEqualTo(endOffsets());
                assertThat(admin.listConsumerGroups().all().get()).extracting(l -> l.groupId()).containsExactly(GROUP);
                assertThat(admin.describeConsumerGroups(List.of(GROUP)).all().get().get(GROUP).groupState())
                        .isEqualTo(GroupState.EMPTY);
            }
            produce(broker.bootstrap(), 120, "b");
            try (KafkaConsumer<String, String> c = consumer(broker.bootstrap(), "c2")) {
                consumeUntil(List.of(c), producedCount()); // only the new records: the offset checks fail on a repeat
            }
            assertThat(consumed).isEqualTo(produced);
        }
    }
}
