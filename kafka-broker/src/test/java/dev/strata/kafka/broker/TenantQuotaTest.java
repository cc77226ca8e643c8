package dev.strata.kafka.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.StreamFilter;
import dev.strata.api.StreamInfo;
import dev.strata.core.Quota;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
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
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.requests.ApiVersionsRequest;
import org.apache.kafka.common.requests.ApiVersionsResponse;
import org.apache.kafka.common.requests.FetchRequest;
import org.apache.kafka.common.requests.FetchResponse;
import org.apache.kafka.common.requests.RequestHeader;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tenants of topics ({@link TenantRules}) and the tenant's catch-up read quota seen by real
 * kafka-clients: labels on every stream of a matching topic, and Fetch answers that carry the quota's
 * delay as {@code throttle_time_ms} (the consumer's {@code fetch-throttle-time-max} metric).
 */
@Timeout(180)
class TenantQuotaTest {
    /** acme by prefix, any {@code <name>-...} topic's {@code <name>} by pattern; others have no tenant. */
    private static final TenantRules RULES = TenantRules.parse(List.of("prefix:acme.=acme", "regex:([a-z]+)-.*"));
    /** acme's catch-up read rate: the 128 KiB replayed below are delayed by about a second. */
    private static final long ACME_CATCH_UP_BYTES_PER_SECOND = 64 * 1024;
    private static final int RECORDS = 128;

    @TempDir
    Path dir;

    private static BrokerConfig config() {
        return BrokerConfig.of("127.0.0.1", 0, 1).withTenantRules(RULES)
                .withTenantQuota("acme", Quota.unlimited().withCatchUpReadBytesPerSecond(ACME_CATCH_UP_BYTES_PER_SECOND));
    }

    @Test
    void streamsOfATopicMatchingARuleCarryItsTenantAndTopicTagsOthersNoTenant() throws Exception {
        try (TestBroker broker = new TestBroker(dir, config());
             Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap()))) {
            admin.createTopics(List.of(new NewTopic("acme.orders", 2, (short) 1), new NewTopic("globex-events", 1, (short) 1),
                    new NewTopic("plain", 1, (short) 1))).all().get();

            List<StreamInfo> acme = broker.store().listStreams(StreamFilter.tenant("acme")).join();
            assertThat(acme).as("data, meta and time-index stream of each of 2 partitions").hasSize(6);
            assertThat(acme).allSatisfy(s -> assertThat(s.labels().tags()).containsEntry(TenantRules.TOPIC_TAG, "acme.orders"));
            assertThat(acme).extracting(s -> s.labels().tags().get(TenantRules.PARTITION_TAG)).containsOnly("0", "1");
            assertThat(broker.store().listStreams(StreamFilter.tenant("globex")).join())
                    .hasSize(3).allSatisfy(s -> assertThat(s.labels().tags()).containsEntry(TenantRules.TOPIC_TAG, "globex-events"));
            List<StreamInfo> plain = broker.store().listStreams(StreamFilter.all().withTag(TenantRules.TOPIC_TAG, "plain")).join();
            assertThat(plain).as("a topic no rule matches: tagged, no tenant").hasSize(3)
                    .allSatisfy(s -> assertThat(s.labels().tenant()).isEmpty());

            broker.restart(); // labels are durable with the streams
            assertThat(broker.store().listStreams(StreamFilter.tenant("acme")).join()).hasSize(6);
        }
    }

    @Test
    void aTopicWhoseRuleCapturesAnInvalidTenantIsRefused() throws Exception {
        BrokerConfig config = BrokerConfig.of("127.0.0.1", 0, 1).withTenantRules(TenantRules.parse(List.of("regex:(.*)")));
        try (TestBroker broker = new TestBroker(dir, config);
             Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap()))) {
            String tooLong = "t".repeat(65); // a valid topic name, too long for a tenant
            ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> admin.createTopics(List.of(new NewTopic(tooLong, 1, (short) 1))).all().get());
            assertThat(refused.getCause()).isInstanceOf(InvalidTopicException.class);
            assertThat(broker.store().listStreams(StreamFilter.all().withTag(TenantRules.TOPIC_TAG, tooLong)).join()).isEmpty();
        }
    }

    @Test
    void replayOfAQuotaedTenantFromObjectsIsThrottledOnTheWireAndAnotherTenantIsNot() throws Exception {
        try (TestBroker broker = new TestBroker(dir, config())) {
            List<String> acmeSent = produce(broker.bootstrap(), "acme.replay");
            List<String> globexSent = produce(broker.bootstrap(), "globex-replay");
            broker.restart(); // closing the store uploads everything: every read below is a catch-up read from objects

            Replay acme = replay(broker.bootstrap(), "acme.replay");
            assertThat(acme.values()).as("every record intact, in order").isEqualTo(acmeSent);
            assertThat(acme.maxThrottleMs()).as("throttle_time_ms of acme's fetches").isGreaterThan(0);
            assertThat(broker.store().quotas().tenantStats("acme").catchUpReadThrottleNanos()).isGreaterThan(0);
            assertThat(acme.maxThrottleMs()).as("no more than the store delayed acme's reads")
                    .isLessThanOrEqualTo(Duration.ofNanos(broker.store().quotas().tenantStats("acme")
                            .catchUpReadThrottleNanos()).toMillis() + 1);

            Replay globex = replay(broker.bootstrap(), "globex-replay");
            assertThat(globex.values()).isEqualTo(globexSent);
            assertThat(globex.maxThrottleMs()).as("globex has no quota").isZero();
        }
    }

    @Test
    void aFetchDelayedByTheQuotaHoldsNoBrokerThreadAndCarriesTheDelayOnTheWire() throws Exception {
        BrokerConfig config = BrokerConfig.of("127.0.0.1", 0, 1).withTenantRules(RULES)
                .withTenantQuota("acme", Quota.unlimited().withCatchUpReadBytesPerSecond(8 * 1024));
        try (TestBroker broker = new TestBroker(dir, config)) {
            produce(broker.bootstrap(), "acme.slow", 64); // 64 KiB at 8 KiB/s: the read from objects waits about 7 s
            broker.restart();
            Uuid topicId;
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap()))) {
                topicId = admin.describeTopics(List.of("acme.slow")).allTopicNames().get().get("acme.slow").topicId();
            }
            try (RawConnection slow = new RawConnection(broker.port())) {
                RequestHeader header = slow.sendOnly(FetchRequest.Builder.forConsumer(ApiKeys.FETCH.latestVersion(false), 500, 1,
                                Map.of(new TopicPartition("acme.slow", 0),
                                        new FetchRequest.PartitionData(topicId, 0, -1, 1 << 20, Optional.empty())))
                        .build(ApiKeys.FETCH.latestVersion(false)));
                // while it is delayed, every I/O thread answers: more connections than I/O threads (Netty's
                // default, 2 per core), assigned round-robin, so some share the slow connection's thread
                int connections = 4 * Runtime.getRuntime().availableProcessors() + 1;
                for (int i = 0; i < connections; i++) {
                    try (RawConnection other = new RawConnection(broker.port())) {
                        ApiVersionsResponse answer = (ApiVersionsResponse) other.send(
                                new ApiVersionsRequest.Builder().build(ApiKeys.API_VERSIONS.latestVersion(false)));
                        assertThat(answer.data().errorCode()).isZero();
                    }
                }
                assertThat(slow.available()).as("the delayed fetch is not answered yet").isZero();

                FetchResponse response = (FetchResponse) slow.receive(header);
                assertThat(response.throttleTimeMs()).as("throttle_time_ms on the wire").isGreaterThanOrEqualTo(1000);
                FetchResponseData.PartitionData partition = response.data().responses().get(0).partitions().get(0);
                assertThat(partition.errorCode()).isZero();
                assertThat(partition.records().sizeInBytes()).as("the records, not an error").isGreaterThan(64 * 1000);
            }
        }
    }

    private static List<String> produce(String bootstrap, String topic) throws Exception {
        return produce(bootstrap, topic, RECORDS);
    }

    /** Sends {@code records} values of about 1 KiB to partition 0 of {@code topic}; returns them in offset order. */
    private static List<String> produce(String bootstrap, String topic, int records) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        List<String> sent = new ArrayList<>();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (int i = 0; i < records; i++) {
                String value = topic + "-" + i + "-" + Integer.toString(i % 10).repeat(1000);
                sent.add(value);
                acks.add(producer.send(new ProducerRecord<>(topic, 0, null, value)));
            }
            for (int i = 0; i < records; i++) {
                assertThat(acks.get(i).get().offset()).isEqualTo(i);
            }
        }
        return sent;
    }

    private record Replay(List<String> values, double maxThrottleMs) {
    }

    /** Reads partition 0 of {@code topic} from offset 0 until {@link #RECORDS} records arrived. */
    private static Replay replay(String bootstrap, String topic) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 32 * 1024); // several fetches, each one read from objects
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seek(tp, 0);
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (values.size() < RECORDS && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofSeconds(1))) {
                    assertThat(r.offset()).isEqualTo(values.size());
                    values.add(r.value());
                }
            }
            return new Replay(values, throttleTimeMax(consumer));
        }
    }

    /** The consumer's {@code fetch-throttle-time-max}: the largest {@code throttle_time_ms} of its Fetch responses. */
    private static double throttleTimeMax(KafkaConsumer<?, ?> consumer) {
        for (Map.Entry<MetricName, ? extends Metric> e : consumer.metrics().entrySet()) {
            if (e.getKey().name().equals("fetch-throttle-time-max")) {
                Object value = e.getValue().metricValue();
                double v = value instanceof Double d ? d : 0;
                return Double.isNaN(v) || Double.isInfinite(v) ? 0 : v;
            }
        }
        throw new AssertionError("the consumer has no fetch-throttle-time-max metric: " + consumer.metrics().keySet());
    }
}
