package dev.strata.kafka.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.CloseOptions.GroupMembershipOperation;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Kafka Streams word-count application (kafka-streams 4.3.1, {@code at_least_once}) against the broker:
 * its repartition and changelog topics are created by Streams itself, and the output topic ends with each
 * word's exact count. A second instance of the application with an empty state directory restores the
 * counts from the changelog topic and continues them. {@code exactly_once_v2} (no transactions here)
 * fails fast with a clear error.
 */
@Timeout(300)
class KafkaStreamsTest {
    private static final String APP = "wordcount";
    private static final String INPUT = "text-input";
    private static final String OUTPUT = "word-counts";
    private static final int PARTITIONS = 3;
    private static final List<String> TEXT = List.of(
            "all streams lead to kafka",
            "hello kafka streams",
            "join kafka summit",
            "the quick brown fox jumps over the lazy dog",
            "a stream is an ordered replayable sequence of records",
            "the log is the truth and the log is durable");
    private static final List<String> MORE_TEXT = List.of(
            "kafka streams on strata",
            "the end of the log");

    @TempDir
    Path dir;

    private static Topology wordCount() {
        StreamsBuilder builder = new StreamsBuilder();
        builder.<String, String>stream(INPUT)
                .flatMapValues(line -> Arrays.asList(line.toLowerCase().split("\\W+")))
                .groupBy((key, word) -> word) // -> the repartition topic
                .count(Materialized.as("counts")) // -> the changelog topic
                .toStream()
                .to(OUTPUT, Produced.with(Serdes.String(), Serdes.Long()));
        return builder.build();
    }

    private Properties streamsConfig(String bootstrap, String stateDir) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, APP);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
        p.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve(stateDir).toString());
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 2);
        p.put(StreamsConfig.REPARTITION_PURGE_INTERVAL_MS_CONFIG, 100); // DeleteRecords on the repartition topic
        p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        return p;
    }

    private static Map<String, Long> counts(List<String> lines) {
        Map<String, Long> counts = new HashMap<>();
        lines.forEach(line -> Arrays.stream(line.split("\\W+")).forEach(w -> counts.merge(w, 1L, Long::sum)));
        return counts;
    }

    private static void produce(String bootstrap, List<String> lines) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (int i = 0; i < lines.size(); i++) {
                acks.add(producer.send(new ProducerRecord<>(INPUT, "line-" + i, lines.get(i))));
            }
            for (Future<RecordMetadata> ack : acks) {
                ack.get();
            }
        }
    }

    /**
     * Reads the output topic with {@code consumer} until each word's latest count equals {@code expected}
     * (or the deadline passes), checking that no count ever exceeds the expected one (nothing counted twice).
     */
    private static Map<String, Long> consumeCounts(KafkaConsumer<String, Long> consumer, Map<String, Long> latest,
                                                   Map<String, Long> expected) {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (!latest.equals(expected) && System.nanoTime() < deadline) {
            for (ConsumerRecord<String, Long> r : consumer.poll(Duration.ofMillis(500))) {
                assertThat(r.value()).as("count of %s", r.key()).isLessThanOrEqualTo(expected.getOrDefault(r.key(), 0L));
                latest.put(r.key(), r.value());
            }
        }
        return latest;
    }

    /**
     * Close that leaves the group (Streams' default keeps its members until their session times out, so
     * a next instance would wait 45 s for its first rebalance).
     */
    private static CloseOptions leaveGroup() {
        return CloseOptions.groupMembershipOperation(GroupMembershipOperation.LEAVE_GROUP).withTimeout(Duration.ofSeconds(60));
    }

    private static KafkaStreams start(Topology topology, Properties config, LinkedBlockingQueue<Throwable> failures) {
        KafkaStreams streams = new KafkaStreams(topology, config);
        streams.setUncaughtExceptionHandler(e -> {
            failures.add(e);
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        streams.start();
        return streams;
    }

    @Test
    void wordCountProducesTheRightCountsAndRestoresThemFromTheChangelog() throws Exception {
        try (TestBroker broker = new TestBroker(dir.resolve("broker"), 1);
             Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap()))) {
            admin.createTopics(List.of(new NewTopic(INPUT, PARTITIONS, (short) 1), new NewTopic(OUTPUT, PARTITIONS, (short) 1)))
                    .all().get();
            Properties cp = new Properties();
            cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap());
            LinkedBlockingQueue<Throwable> failures = new LinkedBlockingQueue<>();
            try (KafkaConsumer<String, Long> output = new KafkaConsumer<>(cp, new StringDeserializer(), new LongDeserializer())) {
                List<TopicPartition> outputPartitions = new ArrayList<>();
                for (int p = 0; p < PARTITIONS; p++) {
                    outputPartitions.add(new TopicPartition(OUTPUT, p));
                }
                output.assign(outputPartitions);
                output.seekToBeginning(outputPartitions);
                Map<String, Long> latest = new HashMap<>();

                KafkaStreams first = start(wordCount(), streamsConfig(broker.bootstrap(), "state-1"), failures);
                produce(broker.bootstrap(), TEXT);
                Map<String, Long> expected = counts(TEXT);
                assertThat(expected).containsEntry("the", 5L).containsEntry("kafka", 3L).containsEntry("log", 2L);
                assertThat(consumeCounts(output, latest, expected)).isEqualTo(expected);
                assertThat(first.close(leaveGroup())).isTrue();
                assertThat(first.state()).isEqualTo(KafkaStreams.State.NOT_RUNNING);

                assertThat(admin.listTopics().names().get()).as("topics Streams created")
                        .contains(APP + "-counts-repartition", APP + "-counts-changelog");

                // A new instance with an empty state dir: the counts come back from the changelog topic.
                KafkaStreams second = start(wordCount(), streamsConfig(broker.bootstrap(), "state-2"), failures);
                produce(broker.bootstrap(), MORE_TEXT);
                List<String> all = new ArrayList<>(TEXT);
                all.addAll(MORE_TEXT);
                Map<String, Long> expectedAll = counts(all);
                assertThat(consumeCounts(output, latest, expectedAll)).isEqualTo(expectedAll);
                assertThat(second.close(leaveGroup())).isTrue();
                assertThat(second.state()).isEqualTo(KafkaStreams.State.NOT_RUNNING);
            }
            assertThat(failures).isEmpty();
        }
    }

    /**
     * {@code exactly_once_v2} needs a transaction coordinator, which this broker does not have: the
     * application fails at once with FindCoordinator's message, instead of hanging or running without
     * transactions.
     */
    @Test
    void exactlyOnceFailsFastWithoutATransactionCoordinator() throws Exception {
        try (TestBroker broker = new TestBroker(dir.resolve("broker"), 1);
             Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap()))) {
            admin.createTopics(List.of(new NewTopic(INPUT, PARTITIONS, (short) 1), new NewTopic(OUTPUT, PARTITIONS, (short) 1)))
                    .all().get();
            Properties config = streamsConfig(broker.bootstrap(), "state-eos");
            config.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
            // one thread: with two, the survivor's rebalance waits out the failed thread's session timeout (45 s)
            config.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
            LinkedBlockingQueue<Throwable> failures = new LinkedBlockingQueue<>();
            KafkaStreams streams = start(wordCount(), config, failures);
            try {
                Throwable failure = failures.poll(120, TimeUnit.SECONDS);
                assertThat(failure).as("the stream thread's failure").isNotNull()
                        .hasMessageContaining("initialize transactions");
                Throwable root = failure;
                while (root.getCause() != null) {
                    root = root.getCause();
                }
                assertThat(root).hasMessageContaining("Could not find a coordinator with type TRANSACTION")
                        .hasMessageContaining("this broker coordinates consumer groups only");
            } finally {
                assertThat(streams.close(Duration.ofSeconds(60))).isTrue();
            }
        }
    }
}
