package dev.strata.kafka.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.CorruptDataException;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.MemoryStreamStore;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.ApiVersionsResponseData.ApiVersion;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.CreateTopicsRequestData.CreatableTopic;
import org.apache.kafka.common.message.InitProducerIdRequestData;
import org.apache.kafka.common.message.OffsetForLeaderEpochRequestData.OffsetForLeaderPartition;
import org.apache.kafka.common.message.OffsetForLeaderEpochRequestData.OffsetForLeaderTopic;
import org.apache.kafka.common.message.OffsetForLeaderEpochRequestData.OffsetForLeaderTopicCollection;
import org.apache.kafka.common.message.OffsetForLeaderEpochResponseData.EpochEndOffset;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.internal.MemoryRecords;
import org.apache.kafka.common.record.internal.SimpleRecord;
import org.apache.kafka.common.requests.ApiVersionsRequest;
import org.apache.kafka.common.requests.ApiVersionsResponse;
import org.apache.kafka.common.requests.CreateTopicsRequest;
import org.apache.kafka.common.requests.CreateTopicsResponse;
import org.apache.kafka.common.requests.FetchRequest;
import org.apache.kafka.common.requests.FetchResponse;
import org.apache.kafka.common.requests.InitProducerIdRequest;
import org.apache.kafka.common.requests.InitProducerIdResponse;
import org.apache.kafka.common.requests.OffsetsForLeaderEpochRequest;
import org.apache.kafka.common.requests.OffsetsForLeaderEpochResponse;
import org.apache.kafka.common.requests.ProduceRequest;
import org.apache.kafka.common.requests.ProduceResponse;
import org.apache.kafka.common.requests.RequestHeader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The wire level, with a raw socket: framing, bad input, ApiVersions, producer ids, long-poll fetches. */
@Timeout(120)
class BrokerProtocolTest {
    @TempDir
    Path dir;

    private static ApiVersionsResponse apiVersions(RawConnection c) throws Exception {
        return (ApiVersionsResponse) c.send(new ApiVersionsRequest.Builder().build(ApiKeys.API_VERSIONS.latestVersion(false)));
    }

    @Test
    void apiVersionsAdvertisesOnlyTheServedApis() throws Exception {
        try (TestBroker broker = new TestBroker(dir, 1); RawConnection c = new RawConnection(broker.port())) {
            ApiVersionsResponse response = apiVersions(c);
            assertThat(Errors.forCode(response.data().errorCode())).isEqualTo(Errors.NONE);
            Set<ApiKeys> advertised = response.data().apiKeys().stream().map(v -> ApiKeys.forId(v.apiKey()))
                    .collect(Collectors.toSet());
            assertThat(advertised).isEqualTo(KafkaApis.SERVED);
            ApiVersion produce = response.data().apiKeys().find(ApiKeys.PRODUCE.id);
            assertThat(produce.maxVersion()).isEqualTo(ApiKeys.PRODUCE.latestVersion(false));
        }
    }

    @Test
    void unknownApiVersionsVersionAnswersUnsupportedVersionWithTheServedVersions() throws Exception {
        try (TestBroker broker = new TestBroker(dir, 1); RawConnection c = new RawConnection(broker.port())) {
            // an ApiVersions v4 body sent as a version the broker does not know, as a newer client would
            short unknown = (short) (ApiKeys.API_VERSIONS.latestVersion(false) + 1);
            RequestHeader header = new RequestHeader(ApiKeys.API_VERSIONS, unknown, "raw-test", 7);
            ApiVersionsRequest request = new ApiVersionsRequest.Builder().build(ApiKeys.API_VERSIONS.latestVersion(false));
            ByteBuffer body = request.serializeWithHeader(new RequestHeader(ApiKeys.API_VERSIONS,
                    ApiKeys.API_VERSIONS.latestVersion(false), "raw-test", 7));
            body.putShort(2, unknown); // the header's api version field
            c.writeFrame(body);
            // the answer is a v0 ApiVersions response
            ApiVersionsResponse response = (ApiVersionsResponse) c.receive(
                    new RequestHeader(ApiKeys.API_VERSIONS, (short) 0, "raw-test", 7));
            assertThat(header.correlationId()).isEqualTo(7);
            assertThat(Errors.forCode(response.data().errorCode())).isEqualTo(Errors.UNSUPPORTED_VERSION);
            assertThat(response.data().apiKeys().find(ApiKeys.FETCH.id)).isNotNull();
            // the connection stays usable
            assertThat(Errors.forCode(apiVersions(c).data().errorCode())).isEqualTo(Errors.NONE);
        }
    }

    @Test
    void malformedFrameClosesTheConnectionAndOtherConnectionsKeepWorking() throws Exception {
        try (TestBroker broker = new TestBroker(dir, 1);
             RawConnection bad = new RawConnection(broker.port());
             RawConnection good = new RawConnection(broker.port())) {
            bad.writeRaw(new byte[] {0, 0, 0, 6, (byte) 0x7f, (byte) 0x7f, 0, 1, 2, 3}); // api key 32639: unknown
            assertThat(bad.closedByBroker()).isTrue();
            assertThat(Errors.forCode(apiVersions(good).data().errorCode())).isEqualTo(Errors.NONE);
            try (RawConnection truncated = new RawConnection(broker.port())) {
                // a known API (Metadata v12) whose body ends after the header
                ByteBuffer frame = ByteBuffer.allocate(16).putShort(ApiKeys.METADATA.id).putShort((short) 12)
                        .putInt(1).putShort((short) -1).put((byte) 0).flip();
                truncated.writeFrame(frame);
                assertThat(truncated.closedByBroker()).isTrue();
            }
            try (RawConnection negative = new RawConnection(broker.port())) {
                negative.writeRaw(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xf0});
                assertThat(negative.closedByBroker()).isTrue();
            }
            assertThat(Errors.forCode(apiVersions(good).data().errorCode())).isEqualTo(Errors.NONE);
        }
    }

    @Test
    void oversizeFrameClosesTheConnectionAndOtherConnectionsKeepWorking() throws Exception {
        BrokerConfig config = BrokerConfig.of("127.0.0.1", 0, 1).withMaxRequestBytes(64 * 1024);
        try (TestBroker broker = new TestBroker(dir, config);
             RawConnection bad = new RawConnection(broker.port());
             RawConnection good = new RawConnection(broker.port())) {
            bad.writeRaw(ByteBuffer.allocate(4).putInt(64 * 1024 + 1).array());
            assertThat(bad.closedByBroker()).isTrue();
            assertThat(Errors.forCode(apiVersions(good).data().errorCode())).isEqualTo(Errors.NONE);
        }
    }

    private static long initProducerId(RawConnection c) throws Exception {
        InitProducerIdResponse r = (InitProducerIdResponse) c.send(new InitProducerIdRequest.Builder(
                new InitProducerIdRequestData().setTransactionalId(null).setTransactionTimeoutMs(60_000))
                .build(ApiKeys.INIT_PRODUCER_ID.latestVersion(false)));
        assertThat(r.error()).isEqualTo(Errors.NONE);
        assertThat(r.data().producerEpoch()).isZero();
        return r.data().producerId();
    }

    @Test
    void producerIdsNeverRepeatAcrossRestarts() throws Exception {
        try (TestBroker broker = new TestBroker(dir, 1)) {
            long first;
            long second;
            try (RawConnection c = new RawConnection(broker.port())) {
                first = initProducerId(c);
                second = initProducerId(c);
            }
            assertThat(second).isNotEqualTo(first);
            broker.restart();
            try (RawConnection c = new RawConnection(broker.port())) {
                long afterRestart = initProducerId(c);
                assertThat(afterRestart).isNotIn(first, second).isGreaterThan(Math.max(first, second));
            }
        }
    }

    private static Uuid createTopic(RawConnection c, String name, int partitions) throws Exception {
        CreateTopicsRequestData.CreatableTopicCollection topics = new CreateTopicsRequestData.CreatableTopicCollection();
        topics.add(new CreatableTopic().setName(name).setNumPartitions(partitions).setReplicationFactor((short) 1));
        CreateTopicsResponse r = (CreateTopicsResponse) c.send(new CreateTopicsRequest.Builder(
                new CreateTopicsRequestData().setTopics(topics).setTimeoutMs(30_000))
                .build(ApiKeys.CREATE_TOPICS.latestVersion(false)));
        assertThat(Errors.forCode(r.data().topics().find(name).errorCode())).isEqualTo(Errors.NONE);
        return r.data().topics().find(name).topicId();
    }

    private static FetchRequest fetch(Uuid topicId, String topic, long offset, int maxWaitMs) {
        Map<TopicPartition, FetchRequest.PartitionData> wanted = Map.of(new TopicPartition(topic, 0),
                new FetchRequest.PartitionData(topicId, offset, -1, 1 << 20, java.util.Optional.empty()));
        return FetchRequest.Builder.forConsumer(ApiKeys.FETCH.latestVersion(false), maxWaitMs, 1, wanted)
                .build(ApiKeys.FETCH.latestVersion(false));
    }

    private static ProduceRequest produce(Uuid topicId, String value) {
        MemoryRecords records = MemoryRecords.withRecords(Compression.NONE, new SimpleRecord(value.getBytes()));
        ProduceRequestData.TopicProduceDataCollection data = new ProduceRequestData.TopicProduceDataCollection();
        data.add(new ProduceRequestData.TopicProduceData().setTopicId(topicId).setPartitionData(List.of(
                new ProduceRequestData.PartitionProduceData().setIndex(0).setRecords(records))));
        return ProduceRequest.builder(new ProduceRequestData().setAcks((short) -1).setTimeoutMs(30_000).setTopicData(data))
                .build(ApiKeys.PRODUCE.latestVersion(false));
    }

    @Test
    void fetchWithoutDataWaitsMaxWaitThenAnswersEmpty() throws Exception {
        try (TestBroker broker = new TestBroker(dir, 1); RawConnection c = new RawConnection(broker.port())) {
            Uuid id = createTopic(c, "idle", 1);
            long start = System.nanoTime();
            FetchResponse r = (FetchResponse) c.send(fetch(id, "idle", 0, 300));
            long waitedMs = (System.nanoTime() - start) / 1_000_000;
            assertThat(waitedMs).as("answered only after max wait").isGreaterThanOrEqualTo(300);
            var partition = r.data().responses().get(0).partitions().get(0);
            assertThat(Errors.forCode(partition.errorCode())).isEqualTo(Errors.NONE);
            assertThat(FetchResponse.recordsSize(partition)).isZero();
        }
    }

    @Test
    void waitingFetchIsAnsweredByTheNextAppend() throws Exception {
        try (TestBroker broker = new TestBroker(dir, 1);
             RawConnection consumer = new RawConnection(broker.port());
             RawConnection producer = new RawConnection(broker.port())) {
            Uuid id = createTopic(producer, "woken", 1);
            RequestHeader pending = consumer.sendOnly(fetch(id, "woken", 0, 600_000)); // would wait 10 minutes
            ProduceResponse produced = (ProduceResponse) producer.send(produce(id, "hello"));
            assertThat(produced.data().responses().iterator().next().partitionResponses().get(0).errorCode()).isZero();
            FetchResponse r = (FetchResponse) consumer.receive(pending); // the class timeout fails a fetch that is not woken
            var partition = r.data().responses().get(0).partitions().get(0);
            assertThat(partition.highWatermark()).isEqualTo(1);
            MemoryRecords records = (MemoryRecords) partition.records();
            assertThat(records.records().iterator().next().value()).isEqualTo(ByteBuffer.wrap("hello".getBytes()));
            assertThat(r.responseData(Map.of(id, "woken"), ApiKeys.FETCH.latestVersion(false)))
                    .containsKey(new TopicPartition("woken", 0));
        }
    }

    @Test
    void responsesAreWrittenInRequestOrderAcksZeroGetsNoneAndAcksOneTheOffset() throws Exception {
        try (TestBroker broker = new TestBroker(dir, 1); RawConnection c = new RawConnection(broker.port())) {
            Uuid id = createTopic(c, "ordered", 1);
            // a Fetch that waits 500 ms, then an ApiVersions answered at once: the Fetch's answer comes first
            RequestHeader fetchHeader = c.sendOnly(fetch(id, "ordered", 0, 500));
            RequestHeader versionsHeader = c.sendOnly(new ApiVersionsRequest.Builder()
                    .build(ApiKeys.API_VERSIONS.latestVersion(false)));
            assertThat(c.receive(fetchHeader)).isInstanceOf(FetchResponse.class); // parsing checks the correlation id
            assertThat(c.receive(versionsHeader)).isInstanceOf(ApiVersionsResponse.class);

            // acks=0: no answer; the next request's answer is the next frame, and the record was stored
            ProduceRequest fireAndForget = ProduceRequest.builder(produce(id, "no-ack").data().setAcks((short) 0))
                    .build(ApiKeys.PRODUCE.latestVersion(false));
            c.sendOnly(fireAndForget);
            assertThat(Errors.forCode(apiVersions(c).data().errorCode())).isEqualTo(Errors.NONE);
            FetchResponse r = (FetchResponse) c.send(fetch(id, "ordered", 0, 0));
            assertThat(r.data().responses().get(0).partitions().get(0).highWatermark()).isEqualTo(1);

            // acks=1 is answered (once durable) with the batch's offset
            ProduceResponse one = (ProduceResponse) c.send(ProduceRequest.builder(produce(id, "one").data()
                    .setAcks((short) 1)).build(ApiKeys.PRODUCE.latestVersion(false)));
            var answer = one.data().responses().iterator().next().partitionResponses().get(0);
            assertThat(Errors.forCode(answer.errorCode())).isEqualTo(Errors.NONE);
            assertThat(answer.baseOffset()).isEqualTo(1);
        }
    }

    @Test
    void offsetForLeaderEpochAnswersTheLogEndForTheCurrentEpoch() throws Exception {
        try (TestBroker broker = new TestBroker(dir, 1); RawConnection c = new RawConnection(broker.port())) {
            Uuid id = createTopic(c, "epochs", 1);
            for (int i = 0; i < 3; i++) {
                c.send(produce(id, "r" + i));
            }
            OffsetForLeaderTopicCollection wanted = new OffsetForLeaderTopicCollection();
            wanted.add(new OffsetForLeaderTopic().setTopic("epochs").setPartitions(List.of(
                    new OffsetForLeaderPartition().setPartition(0).setCurrentLeaderEpoch(0).setLeaderEpoch(0),
                    new OffsetForLeaderPartition().setPartition(1).setLeaderEpoch(0))));
            OffsetsForLeaderEpochResponse r = (OffsetsForLeaderEpochResponse) c.send(
                    OffsetsForLeaderEpochRequest.Builder.forConsumer(wanted)
                            .build(ApiKeys.OFFSET_FOR_LEADER_EPOCH.latestVersion(false)));
            List<EpochEndOffset> answers = r.data().topics().find("epochs").partitions();
            assertThat(Errors.forCode(answers.get(0).errorCode())).isEqualTo(Errors.NONE);
            assertThat(answers.get(0).leaderEpoch()).isZero();
            assertThat(answers.get(0).endOffset()).isEqualTo(3);
            assertThat(Errors.forCode(answers.get(1).errorCode())).isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION);
        }
    }

    @Test
    void startRefusesAStoreWithStreamsButNoCatalog() {
        try (MemoryStreamStore store = new MemoryStreamStore()) {
            long id = store.createStream(StreamOptions.defaults()).join().id(); // someone else's first stream
            store.deleteStream(id, 0).join();
            assertThatThrownBy(() -> KafkaBroker.start(store, BrokerConfig.of("127.0.0.1", 0, 1)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("no broker catalog");
        }
    }

    @Test
    void startRefusesAStoreWhoseFirstStreamIsNotACatalog() {
        try (MemoryStreamStore store = new MemoryStreamStore()) {
            Stream first = store.createStream(StreamOptions.defaults()).join();
            first.append(RecordBatch.of(1, ByteBuffer.wrap("someone else's data".getBytes()))).join();
            first.close().join();
            assertThatThrownBy(() -> KafkaBroker.start(store, BrokerConfig.of("127.0.0.1", 0, 1)))
                    .isInstanceOf(CorruptDataException.class).hasMessageContaining("stream 1 is not a broker catalog");
        }
    }
}
