package dev.strata.kafka.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Kafka's own Java clients (kafka-clients 4.3.1, default settings) against the broker. */
@Timeout(180)
class KafkaClientsTest {
    @TempDir
    Path dir;

    private static KafkaProducer<String, String> producer(String bootstrap) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5); // several records per batch; idempotence and acks=all are the defaults
        return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    }

    private static KafkaConsumer<String, String> consumer(String bootstrap) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 50); // several fetches per partition
        return new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
    }

    private static Admin admin(String bootstrap) {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
    }

    /** Sends {@code count} records with keys spread over the partitions; returns each partition's values in send order. */
    static Map<Integer, List<String>> produce(String bootstrap, String topic, int count, String prefix)
            throws Exception {
        Map<Integer, List<String>> sent = new HashMap<>();
        try (KafkaProducer<String, String> producer = producer(bootstrap)) {
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                acks.add(producer.send(new ProducerRecord<>(topic, "key-" + (i % 17), prefix + i)));
            }
            for (int i = 0; i < count; i++) {
                RecordMetadata m = acks.get(i).get();
                List<String> values = sent.computeIfAbsent(m.partition(), k -> new ArrayList<>());
                assertThat(m.offset()).as("offset of record %d", i).isEqualTo(values.size());
                values.add(prefix + i);
            }
        }
        return sent;
    }

    /** Reads every partition of {@code topic} from the start until {@code count} records arrived; values per partition. */
    static Map<Integer, List<String>> consumeAll(String bootstrap, String topic, int partitions, int count) {
        Map<Integer, List<String>> read = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = consumer(bootstrap)) {
            List<TopicPartition> all = new ArrayList<>();
            for (int p = 0; p < partitions; p++) {
                all.add(new TopicPartition(topic, p));
            }
            consumer.assign(all);
            int total = 0;
            while (total < count) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofSeconds(1))) {
                    List<String> values = read.computeIfAbsent(r.partition(), k -> new ArrayList<>());
                    assertThat(r.offset()).as("offset in partition %d", r.partition()).isEqualTo(values.size());
                    values.add(r.value());
                    total++;
                }
            }
            // nothing more: a last poll (a long poll that expires) returns no records
            assertThat(consumer.poll(Duration.ofMillis(700))).isEmpty();
        }
        return read;
    }

    @Test
    void idempotentProducerAndAssignedConsumerSeeEveryRecordOnceInOrderPerPartition() throws Exception {
        try (TestBroker broker = new TestBroker(dir, 3)) {
            // the topic does not exist: the producer's Metadata request creates it with 3 partitions
            Map<Integer, List<String>> sent = produce(broker.bootstrap(), "events", 1000, "v");
            assertThat(sent.keySet()).containsExactlyInAnyOrder(0, 1, 2);
            Map<Integer, List<String>> read = consumeAll(broker.bootstrap(), "events", 3, 1000);
            assertThat(read).isEqualTo(sent);
        }
    }

    @Test
    void restartKeepsTopicsTopicIdsAndData() throws Exception {
        try (TestBroker broker = new TestBroker(dir, 1)) {
            Uuid id;
            try (Admin admin = admin(broker.bootstrap())) {
                admin.createTopics(List.of(new NewTopic("kept", 4, (short) 1))).all().get();
                id = admin.describeTopics(List.of("kept")).allTopicNames().get().get("kept").topicId();
            }
            Map<Integer, List<String>> before = produce(broker.bootstrap(), "kept", 400, "a");

            broker.restart();

            try (Admin admin = admin(broker.bootstrap())) {
                TopicDescription described = admin.describeTopics(List.of("kept")).allTopicNames().get().get("kept");
                assertThat(described.topicId()).isEqualTo(id);
                assertThat(described.partitions()).hasSize(4);
            }
            Map<Integer, List<String>> read = consumeAll(broker.bootstrap(), "kept", 4, 400);
            assertThat(read).isEqualTo(before);
        }
    }

    @Test
    void producingAfterARestartContinuesEachPartitionsOffsets() throws Exception {
        try (TestBroker broker = new TestBroker(dir, 2)) {
            Map<Integer, List<String>> first = produce(broker.bootstrap(), "continued", 200, "a");
            broker.restart();
            Map<Integer, List<String>> expected = new HashMap<>();
            first.forEach((p, v) -> expected.put(p, new ArrayList<>(v)));
            try (KafkaProducer<String, String> producer = producer(broker.bootstrap())) {
                for (int i = 0; i < 200; i++) {
                    RecordMetadata m = producer.send(new ProducerRecord<>("continued", "key-" + (i % 17), "b" + i)).get();
                    List<String> values = expected.computeIfAbsent(m.partition(), k -> new ArrayList<>());
                    assertThat(m.offset()).isEqualTo(values.size());
                    values.add("b" + i);
                }
            }
            assertThat(consumeAll(broker.bootstrap(), "continued", 2, 400)).isEqualTo(expected);
        }
    }

    @Test
    void adminCreatesListsDescribesAndDeletesTopics() throws Exception {
        try (TestBroker broker = new TestBroker(dir, 1); Admin admin = admin(broker.bootstrap())) {
            admin.createTopics(List.of(new NewTopic("orders", 3, (short) 1), new NewTopic("audit", 1, (short) 1)))
                    .all().get();
            assertThat(admin.listTopics().names().get()).containsExactlyInAnyOrder("orders", "audit");
            TopicDescription orders = admin.describeTopics(List.of("orders")).allTopicNames().get().get("orders");
            assertThat(orders.partitions()).hasSize(3);
            assertThat(orders.topicId()).isNotEqualTo(Uuid.ZERO_UUID);

            assertThatThrownBy(() -> admin.createTopics(List.of(new NewTopic("orders", 1, (short) 1))).all().get())
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(TopicExistsException.class);

            produce(broker.bootstrap(), "orders", 30, "x");
            Map<TopicPartition, OffsetSpec> latest = Map.of(new TopicPartition("orders", 0), OffsetSpec.latest(),
                    new TopicPartition("orders", 1), OffsetSpec.latest(), new TopicPartition("orders", 2), OffsetSpec.latest());
            long total = admin.listOffsets(latest).all().get().values().stream().mapToLong(r -> r.offset()).sum();
            assertThat(total).isEqualTo(30);
            assertThat(admin.listOffsets(Map.of(new TopicPartition("orders", 0), OffsetSpec.earliest()))
                    .all().get().values().iterator().next().offset()).isZero();

            admin.deleteTopics(List.of("orders")).all().get();
            assertThat(admin.listTopics().names().get()).containsExactly("audit");
            assertThatThrownBy(() -> admin.deleteTopics(List.of("orders")).all().get())
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(UnknownTopicOrPartitionException.class);

            // a topic created again under the same name is a new, empty topic
            admin.createTopics(List.of(new NewTopic("orders", 1, (short) 1))).all().get();
            TopicDescription again = admin.describeTopics(List.of("orders")).allTopicNames().get().get("orders");
            assertThat(again.topicId()).isNotEqualTo(orders.topicId());
            assertThat(admin.listOffsets(Map.of(new TopicPartition("orders", 0), OffsetSpec.latest()))
                    .all().get().values().iterator().next().offset()).isZero();

            broker.restart();
            try (Admin afterRestart = admin(broker.bootstrap())) {
                assertThat(afterRestart.listTopics().names().get()).containsExactlyInAnyOrder("orders", "audit");
                assertThat(afterRestart.describeTopics(List.of("orders")).allTopicNames().get().get("orders").topicId())
                        .isEqualTo(again.topicId());
            }
        }
    }

    @Test
    void offsetsForTimesAndMaxTimestampComeFromTheTimeIndex() throws Exception {
        try (TestBroker broker = new TestBroker(dir, 1); Admin admin = admin(broker.bootstrap())) {
            admin.createTopics(List.of(new NewTopic("readings", 1, (short) 1))).all().get();
            long base = 1_760_000_000_000L;
            try (KafkaProducer<String, String> producer = producer(broker.bootstrap())) {
                for (int i = 0; i < 40; i++) { // record i at base + 1000 i, except record 25, the newest by time
                    long ts = i == 25 ? base + 1_000_000 : base + 1000L * i;
                    producer.send(new ProducerRecord<>("readings", 0, ts, "k", "v" + i)).get();
                }
            }
            TopicPartition tp = new TopicPartition("readings", 0);
            try (KafkaConsumer<String, String> consumer = consumer(broker.bootstrap())) {
                var found = consumer.offsetsForTimes(Map.of(tp, base + 10_500)).get(tp);
                assertThat(found.offset()).isEqualTo(11);
                assertThat(found.timestamp()).isEqualTo(base + 11_000);
                assertThat(consumer.offsetsForTimes(Map.of(tp, base + 2_000_000)).get(tp)).isNull();
            }
            var max = admin.listOffsets(Map.of(tp, OffsetSpec.maxTimestamp())).all().get().get(tp);
            assertThat(max.offset()).isEqualTo(25);
            assertThat(max.timestamp()).isEqualTo(base + 1_000_000);
            // the first offset whose timestamp is at or after it: record 25 (newest by time) comes before 39
            var byTime = admin.listOffsets(Map.of(tp, OffsetSpec.forTimestamp(base + 39_000))).all().get().get(tp);
            assertThat(byTime.offset()).isEqualTo(25);
        }
    }
}
