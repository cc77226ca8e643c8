package dev.strata.kafka.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.StreamFilter;
import dev.strata.api.StreamInfo;
import dev.strata.core.Quota;
import dev.strata.core.QuotaStats;
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
 * Tenants of topics ({@link TenantRules}) and the tenant's quotas seen by real kafka-clients: labels on
 * every stream of a matching topic; Kafka's throttling (KIP-219): Fetch and Produce answered at once
 * with {@code throttle_time_ms} (the clients' {@code fetch-throttle-time-max} and
 * {@code produce-throttle-time-max}), the connection muted meanwhile, older versions delayed; a replay
 * that stays within the quota. No sleeps: the rate is bounded by bytes over the measured time.
 */
@Timeout(180)
class TenantQuotaTest {
    /** acme by prefix, any {@code <name>-...} topic's {@code <name>} by pattern; others have no tenant. */
    private static final TenantRules RULES = TenantRules.parse(List.of("prefix:acme.=acme", "regex:([a-z]+)-.*"));
    /** acme's catch-up read rate: the 128 KiB replayed below take about three seconds. */
    private static final long ACME_CATCH_UP_BYTES_PER_SECOND = 32 * 1024;
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
    void replayOfAQuotaedTenantIsThrottledByTheClientAtTheQuotaAndAnotherTenantIsNot() throws Exception {
        try (TestBroker broker = new TestBroker(dir, config())) {
            List<String> acmeSent = produce(broker.bootstrap(), "acme.replay");
            List<String> globexSent = produce(broker.bootstrap(), "globex-replay");
            broker.restart(); // closing the store uploads everything: every read below is a catch-up read from objects

            long startNanos = System.nanoTime(); // the tenant's bucket holds at most one second of its rate from here
            Replay acme = replay(broker.bootstrap(), "acme.replay");
            long elapsedNanos = System.nanoTime() - startNanos;
            assertThat(acme.values()).as("every record intact, in order").isEqualTo(acmeSent);
            assertThat(acme.maxThrottleMs()).as("throttle_time_ms of acme's fetches (fetch-throttle-time-max)")
                    .isGreaterThan(0);
            QuotaStats stats = broker.store().quotas().tenantStats("acme");
            assertThat(stats.catchUpReadBytes()).as("the whole replay was read from objects, under the quota")
                    .isGreaterThanOrEqualTo(RECORDS * 1000L);
            // The quota holds, whatever the machine's speed: a catch-up read happens only while the bucket
            // is not in debt and returns at most what it holds plus one batch, so the bytes read in any
            // interval are at most one second of the rate (the full bucket), the rate times the interval,
            // and one batch (16 KiB, the producer's batch.size, plus headers).
            double elapsedSeconds = elapsedNanos / 1e9;
            long bound = (long) (ACME_CATCH_UP_BYTES_PER_SECOND * (1 + elapsedSeconds)) + 17 * 1024;
            System.out.printf("acme replay: %d bytes in %.2f s = %.0f B/s, quota %d B/s, max throttle %.0f ms%n",
                    stats.catchUpReadBytes(), elapsedSeconds, stats.catchUpReadBytes() / elapsedSeconds,
                    ACME_CATCH_UP_BYTES_PER_SECOND, acme.maxThrottleMs());
            assertThat(stats.catchUpReadBytes()).as("bytes read within the quota over %.2f s", elapsedSeconds)
                    .isLessThanOrEqualTo(bound);
            assertThat(acme.maxThrottleMs()).as("no more than the quota asked of acme's reads")
                    .isLessThanOrEqualTo(Duration.ofNanos(stats.catchUpReadThrottleNanos()).toMillis() + 1);

            Replay globex = replay(broker.bootstrap(), "globex-replay");
            assertThat(globex.values()).isEqualTo(globexSent);
            assertThat(globex.maxThrottleMs()).as("globex has no quota").isZero();
        }
    }

    /** acme's tiny read quota for the raw fetches: 2 KiB/s, so one 8 KiB batch owes about 3 s. */
    private static BrokerConfig slowConfig() {
        return BrokerConfig.of("127.0.0.1", 0, 1).withTenantRules(RULES)
                .withTenantQuota("acme", Quota.unlimited().withCatchUpReadBytesPerSecond(2 * 1024));
    }

    /** Uploads 8 batches of one 8 KiB record each to {@code acme.slow} and restarts: reads then come from objects. */
    private Uuid eightBigBatches(TestBroker broker) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < 8; i++) { // one at a time: one record per batch
                producer.send(new ProducerRecord<>("acme.slow", 0, null, "x".repeat(8 * 1024))).get();
            }
        }
        broker.restart();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrap()))) {
            return admin.describeTopics(List.of("acme.slow")).allTopicNames().get().get("acme.slow").topicId();
        }
    }

    private static FetchRequest fetchAll(short version, Uuid topicId) {
        return FetchRequest.Builder.forConsumer(version, 500, 1, Map.of(new TopicPartition("acme.slow", 0),
                new FetchRequest.PartitionData(topicId, 0, -1, 1 << 20, Optional.empty()))).build(version);
    }

    @Test
    void aThrottledFetchIsAnsweredAtOnceWithinTheQuotaAndMutesItsConnectionForTheThrottleTime() throws Exception {
        try (TestBroker broker = new TestBroker(dir, slowConfig())) {
            Uuid topicId = eightBigBatches(broker);
            try (RawConnection slow = new RawConnection(broker.port())) {
                long sentNanos = System.nanoTime();
                FetchResponse response = (FetchResponse) slow.send(fetchAll(ApiKeys.FETCH.latestVersion(false), topicId));
                long answeredMs = Duration.ofNanos(System.nanoTime() - sentNanos).toMillis();
                int throttleMs = response.throttleTimeMs();
                FetchResponseData.PartitionData partition = response.data().responses().get(0).partitions().get(0);
                assertThat(partition.errorCode()).isZero();
                // the bucket held 2 KiB: one batch (minOneMessage), never the 64 KiB the fetch allowed
                assertThat(partition.records().sizeInBytes()).as("one batch").isBetween(8 * 1024, 9 * 1024);
                assertThat(throttleMs).as("about (8 KiB - 2 KiB) / 2 KiB/s owed").isBetween(2_000, 4_000);
                assertThat(answeredMs).as("answered at once, not after the throttle time").isLessThan(throttleMs);

                // muted from the answer on: a request sent now is read once the throttle time has passed
                RequestHeader next = slow.sendOnly(new ApiVersionsRequest.Builder().build(ApiKeys.API_VERSIONS.latestVersion(false)));
                // other connections are served while this one is muted
                for (int i = 0; i < 4; i++) {
                    try (RawConnection other = new RawConnection(broker.port())) {
                        assertThat(((ApiVersionsResponse) other.send(new ApiVersionsRequest.Builder()
                                .build(ApiKeys.API_VERSIONS.latestVersion(false)))).data().errorCode()).isZero();
                    }
                }
                assertThat(slow.available()).as("not answered while muted").isZero();
                assertThat(((ApiVersionsResponse) slow.receive(next)).data().errorCode()).isZero();
                assertThat(Duration.ofNanos(System.nanoTime() - sentNanos).toMillis())
                        .as("the request sent after the throttled answer is read only once the throttle time has passed")
                        .isGreaterThanOrEqualTo(throttleMs);

                FetchResponse after = (FetchResponse) slow.send(fetchAll(ApiKeys.FETCH.latestVersion(false), topicId));
                assertThat(after.data().responses().get(0).partitions().get(0).records().sizeInBytes())
                        .as("the debt is paid: the next fetch returns a batch again").isGreaterThan(0);
            }
        }
    }

    @Test
    void aFetchOlderThanV8GetsItsThrottledResponseDelayed() throws Exception {
        try (TestBroker broker = new TestBroker(dir, slowConfig())) {
            Uuid topicId = eightBigBatches(broker);
            try (RawConnection old = new RawConnection(broker.port())) {
                long sentNanos = System.nanoTime();
                FetchResponse response = (FetchResponse) old.send(fetchAll((short) 7, topicId));
                long answeredMs = Duration.ofNanos(System.nanoTime() - sentNanos).toMillis();
                assertThat(response.throttleTimeMs()).as("reported all the same").isBetween(2_000, 4_000);
                assertThat(answeredMs).as("a v7 client does not wait by itself: the broker delays the answer")
                        .isGreaterThanOrEqualTo(response.throttleTimeMs());
                assertThat(response.data().responses().get(0).partitions().get(0).records().sizeInBytes())
                        .as("with the records read").isBetween(8 * 1024, 9 * 1024);
            }
        }
    }

    @Test
    void aProduceOverTheTenantsAppendQuotaReportsTheThrottleTimeAndIsNeverRefused() throws Exception {
        BrokerConfig config = BrokerConfig.of("127.0.0.1", 0, 1).withTenantRules(RULES)
                .withTenantQuota("acme", Quota.unlimited().withAppendBytesPerSecond(32 * 1024));
        try (TestBroker broker = new TestBroker(dir, config)) {
            double acme = produceThrottleMax(broker.bootstrap(), "acme.ingest");
            double globex = produceThrottleMax(broker.bootstrap(), "globex-ingest");
            assertThat(acme).as("produce-throttle-time-max of acme's producer (128 KiB at 32 KiB/s)").isGreaterThan(0);
            assertThat(globex).as("globex has no quota").isZero();
            QuotaStats stats = broker.store().quotas().tenantStats("acme");
            assertThat(stats.appendsRefused()).as("the broker throttles: the store refuses nothing").isZero();
            assertThat(stats.appendThrottleNanos()).as("the waits the quota asked for").isGreaterThan(0);
        }
    }

    /** Produces {@link #RECORDS} records of 1 KiB to {@code topic} (all acknowledged); the producer's produce-throttle-time-max. */
    private static double produceThrottleMax(String bootstrap, String topic) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (int i = 0; i < RECORDS; i++) {
                acks.add(producer.send(new ProducerRecord<>(topic, 0, null, Integer.toString(i % 10).repeat(1024))));
            }
            for (int i = 0; i < RECORDS; i++) {
                assertThat(acks.get(i).get().offset()).isEqualTo(i);
            }
            return metric(producer.metrics(), "produce-throttle-time-max");
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
        return metric(consumer.metrics(), "fetch-throttle-time-max");
    }

    /** A client's metric {@code name} (0 for NaN or infinite: nothing recorded). */
    private static double metric(Map<MetricName, ? extends Metric> metrics, String name) {
        for (Map.Entry<MetricName, ? extends Metric> e : metrics.entrySet()) {
            if (e.getKey().name().equals(name)) {
                Object value = e.getValue().metricValue();
                double v = value instanceof Double d ? d : 0;
                return Double.isNaN(v) || Double.isInfinite(v) ? 0 : v;
            }
        }
        throw new AssertionError("the client has no " + name + " metric: " + metrics.keySet());
    }
}
