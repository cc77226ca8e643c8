package dev.strata.kafka.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.OffsetOutOfRangeException;
import org.apache.kafka.common.message.DeleteRecordsRequestData;
import org.apache.kafka.common.message.DeleteRecordsRequestData.DeleteRecordsPartition;
import org.apache.kafka.common.message.DeleteRecordsRequestData.DeleteRecordsTopic;
import org.apache.kafka.common.message.DeleteRecordsResponseData.DeleteRecordsPartitionResult;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.DeleteRecordsRequest;
import org.apache.kafka.common.requests.DeleteRecordsResponse;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * DeleteRecords through the admin client and as raw requests: the new low watermark is where a
 * consumer seeking to the beginning starts and what ListOffsets earliest answers (also after a
 * restart); Kafka's error codes for offsets beyond the high watermark and unknown partitions.
 */
@Timeout(180)
class DeleteRecordsTest {
    @TempDir
    Path dir;

    private static Admin admin(String bootstrap) {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
    }

    /** Sends {@code count} records to partition {@code partition}: values prefix0 .. prefix(count-1) at offsets 0 .. count-1. */
    private static void produce(String bootstrap, TopicPartition tp, int count, String prefix) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < count; i++) {
                producer.send(new ProducerRecord<>(tp.topic(), tp.partition(), null, prefix + i));
            }
            producer.flush();
        }
    }

    /** The records a consumer seeking to the beginning of {@code tp} reads up to its end: "offset:value" each. */
    private static List<String> readFromBeginning(String bootstrap, TopicPartition tp, long end) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        List<String> read = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            while (consumer.position(tp) < end) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofSeconds(1))) {
                    read.add(r.offset() + ":" + r.value());
                }
            }
        }
        return read;
    }

    private static long earliest(Admin admin, TopicPartition tp) throws Exception {
        return admin.listOffsets(Map.of(tp, OffsetSpec.earliest())).partitionResult(tp).get().offset();
    }

    @Test
    void deleteRecordsMovesTheLowWatermarkWhereConsumersAndListOffsetsStart() throws Exception {
        TopicPartition p0 = new TopicPartition("trimmed", 0);
        TopicPartition p1 = new TopicPartition("trimmed", 1);
        try (TestBroker broker = new TestBroker(dir, 1)) {
            try (Admin admin = admin(broker.bootstrap())) {
                admin.createTopics(List.of(new NewTopic("trimmed", 2, (short) 1))).all().get();
                produce(broker.bootstrap(), p0, 100, "a");
                produce(broker.bootstrap(), p1, 30, "b");

                assertThat(admin.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(40))).lowWatermarks().get(p0)
                        .get().lowWatermark()).isEqualTo(40);
                // -1: up to the high watermark
                assertThat(admin.deleteRecords(Map.of(p1, RecordsToDelete.beforeOffset(DeleteRecordsRequest.HIGH_WATERMARK)))
                        .lowWatermarks().get(p1).get().lowWatermark()).isEqualTo(30);
                // below the current low watermark: nothing changes, the current one is answered
                assertThat(admin.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(10))).lowWatermarks().get(p0)
                        .get().lowWatermark()).isEqualTo(40);
                assertThatThrownBy(() -> admin.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(101)))
                        .lowWatermarks().get(p0).get())
                        .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(OffsetOutOfRangeException.class);

                assertThat(earliest(admin, p0)).isEqualTo(40);
                assertThat(earliest(admin, p1)).isEqualTo(30);
            }
            List<String> expected = new ArrayList<>();
            for (int i = 40; i < 100; i++) {
                expected.add(i + ":a" + i);
            }
            assertThat(readFromBeginning(broker.bootstrap(), p0, 100)).isEqualTo(expected);

            broker.restart();

            try (Admin admin = admin(broker.bootstrap())) {
                assertThat(earliest(admin, p0)).isEqualTo(40);
                assertThat(earliest(admin, p1)).isEqualTo(30);
            }
            assertThat(readFromBeginning(broker.bootstrap(), p0, 100)).isEqualTo(expected);
        }
    }

    @Test
    void rawDeleteRecordsAnswersKafkasErrorCodesPerPartition() throws Exception {
        try (TestBroker broker = new TestBroker(dir, 1)) {
            TopicPartition tp = new TopicPartition("raw-trim", 0);
            try (Admin admin = admin(broker.bootstrap())) {
                admin.createTopics(List.of(new NewTopic("raw-trim", 1, (short) 1))).all().get();
            }
            produce(broker.bootstrap(), tp, 10, "r");
            DeleteRecordsRequestData data = new DeleteRecordsRequestData().setTimeoutMs(30_000);
            data.topics().add(new DeleteRecordsTopic().setName("raw-trim").setPartitions(List.of(
                    new DeleteRecordsPartition().setPartitionIndex(0).setOffset(11),
                    new DeleteRecordsPartition().setPartitionIndex(5).setOffset(1))));
            data.topics().add(new DeleteRecordsTopic().setName("no-such-topic").setPartitions(List.of(
                    new DeleteRecordsPartition().setPartitionIndex(0).setOffset(1))));
            try (RawConnection c = new RawConnection(broker.port())) {
                DeleteRecordsResponse r = (DeleteRecordsResponse) c.send(new DeleteRecordsRequest.Builder(data)
                        .build(ApiKeys.DELETE_RECORDS.latestVersion()));
                assertThat(result(r, "raw-trim", 0).errorCode()).isEqualTo(Errors.OFFSET_OUT_OF_RANGE.code());
                assertThat(result(r, "raw-trim", 0).lowWatermark()).isEqualTo(DeleteRecordsResponse.INVALID_LOW_WATERMARK);
                assertThat(result(r, "raw-trim", 5).errorCode()).isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
                assertThat(result(r, "no-such-topic", 0).errorCode()).isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());

                data.topics().clear();
                data.topics().add(new DeleteRecordsTopic().setName("raw-trim").setPartitions(List.of(
                        new DeleteRecordsPartition().setPartitionIndex(0).setOffset(10))));
                DeleteRecordsResponse ok = (DeleteRecordsResponse) c.send(new DeleteRecordsRequest.Builder(data)
                        .build(ApiKeys.DELETE_RECORDS.latestVersion()));
                assertThat(result(ok, "raw-trim", 0).errorCode()).isEqualTo(Errors.NONE.code());
                assertThat(result(ok, "raw-trim", 0).lowWatermark()).isEqualTo(10);
            }
        }
    }

    private static DeleteRecordsPartitionResult result(DeleteRecordsResponse r, String topic, int partition) {
        return r.data().topics().find(topic).partitions().find(partition);
    }
}
