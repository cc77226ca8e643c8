package dev.strata.kafka.broker;

import java.net.InetSocketAddress;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import org.apache.kafka.common.feature.Features;
import org.apache.kafka.common.message.ApiMessageType;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.ApiVersionsResponseData.ApiVersion;
import org.apache.kafka.common.message.ApiVersionsResponseData.ApiVersionCollection;
import org.apache.kafka.common.message.InitProducerIdResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.AbstractRequest;
import org.apache.kafka.common.requests.ApiVersionsResponse;
import org.apache.kafka.common.requests.CreateTopicsRequest;
import org.apache.kafka.common.requests.DeleteRecordsRequest;
import org.apache.kafka.common.requests.DeleteTopicsRequest;
import org.apache.kafka.common.requests.FetchRequest;
import org.apache.kafka.common.requests.InitProducerIdRequest;
import org.apache.kafka.common.requests.ListOffsetsRequest;
import org.apache.kafka.common.requests.MetadataRequest;
import org.apache.kafka.common.requests.OffsetsForLeaderEpochRequest;
import org.apache.kafka.common.requests.ProduceRequest;

/**
 * Dispatches a parsed request to the handler of its API and answers ApiVersions. Every API listed in
 * {@link #SERVED} is advertised with the whole version range kafka-clients knows for it (Kafka 4's
 * minimums); nothing else is advertised.
 *
 * <p>Thread-safe. Handlers start their work on the calling (event-loop) thread and never block it;
 * the returned future completes on whichever thread finished the work (often Strata's).
 */
final class KafkaApis {

    /** This broker's node id: it is the only node, leader and controller. */
    static final int NODE_ID = 0;

    /** The APIs this broker serves. */
    static final Set<ApiKeys> SERVED = EnumSet.of(ApiKeys.API_VERSIONS, ApiKeys.METADATA, ApiKeys.PRODUCE,
            ApiKeys.FETCH, ApiKeys.LIST_OFFSETS, ApiKeys.INIT_PRODUCER_ID, ApiKeys.CREATE_TOPICS,
            ApiKeys.DELETE_TOPICS, ApiKeys.OFFSET_FOR_LEADER_EPOCH,
            ApiKeys.DELETE_RECORDS);

    /** The classic consumer group APIs, served by {@link GroupHandler}. */
    static final Set<ApiKeys> GROUP_APIS = EnumSet.of(ApiKeys.FIND_COORDINATOR, ApiKeys.JOIN_GROUP, ApiKeys.SYNC_GROUP,
            ApiKeys.HEARTBEAT, ApiKeys.LEAVE_GROUP, ApiKeys.OFFSET_COMMIT, ApiKeys.OFFSET_FETCH, ApiKeys.DESCRIBE_GROUPS,
            ApiKeys.LIST_GROUPS);

    static {
        SERVED.addAll(GROUP_APIS);
    }

    private static final ApiVersionCollection VERSIONS =
            ApiVersionsResponse.collectApis(ApiMessageType.ListenerType.BROKER, SERVED, false);

    private final ProduceHandler produce;
    private final FetchHandler fetch;
    private final MetadataHandler metadata;
    private final ListOffsetsHandler listOffsets;
    private final TopicAdminHandler topicAdmin;
    private final OffsetForLeaderEpochHandler offsetForLeaderEpoch;
    private final ProducerIds producerIds;
    private final GroupHandler groups;
    private final DeleteRecordsHandler deleteRecords;

    KafkaApis(Topics topics, ProducerIds producerIds, ScheduledExecutorService scheduler, int defaultPartitions,
              GroupHandler groups, BrokerQuotas quotas) {
        this.groups = groups;
        this.produce = new ProduceHandler(topics, quotas);
        this.fetch = new FetchHandler(topics, scheduler, quotas);
        this.metadata = new MetadataHandler(topics, defaultPartitions);
        this.listOffsets = new ListOffsetsHandler(topics);
        this.topicAdmin = new TopicAdminHandler(topics, defaultPartitions);
        this.offsetForLeaderEpoch = new OffsetForLeaderEpochHandler(topics);
        this.producerIds = producerIds;
        this.deleteRecords = new DeleteRecordsHandler(topics);
    }

    /** Whether this broker serves {@code version} of {@code api}. */
    static boolean supports(ApiKeys api, short version) {
        ApiVersion range = VERSIONS.find(api.id);
        return range != null && version >= range.minVersion() && version <= range.maxVersion();
    }

    /** The ApiVersions answer: {@code error} is NONE, or UNSUPPORTED_VERSION for a version this broker lacks. */
    static ApiVersionsResponseData apiVersions(Errors error) {
        return new ApiVersionsResponse.Builder()
                .setError(error)
                .setApiVersions(VERSIONS.duplicate())
                .setSupportedFeatures(Features.emptySupportedFeatures())
                .setFinalizedFeatures(java.util.Map.of())
                .setFinalizedFeaturesEpoch(ApiVersionsResponse.UNKNOWN_FINALIZED_FEATURES_EPOCH)
                .build().data();
    }

    /**
     * Handles one request of a served API and version; group APIs go to {@link GroupHandler}.
     *
     * @param clientId the request header's client id
     * @param remote the client's address
     */
    CompletableFuture<ApiMessage> handle(AbstractRequest request, String clientId, InetSocketAddress local,
                                         InetSocketAddress remote) {
        if (GROUP_APIS.contains(request.apiKey())) {
            return groups.handle(request, clientId, local, remote);
        }
        return handle(request, local);
    }

    /**
     * Handles one request of a served API and version.
     *
     * @param local the address the client connected to (Metadata advertises it)
     * @return the response body (for an {@code acks=0} Produce too, which {@link RequestHandler} does
     *     not send: it only applies its throttle time)
     */
    CompletableFuture<ApiMessage> handle(AbstractRequest request, InetSocketAddress local) {
        return switch (request.apiKey()) {
            case API_VERSIONS -> CompletableFuture.completedFuture(apiVersions(Errors.NONE));
            case METADATA -> widen(metadata.handle((MetadataRequest) request, local));
            case PRODUCE -> widen(produce.handle((ProduceRequest) request)); // acks=0: RequestHandler sends nothing
            case FETCH -> widen(fetch.handle((FetchRequest) request));
            case LIST_OFFSETS -> widen(listOffsets.handle((ListOffsetsRequest) request));
            case INIT_PRODUCER_ID -> initProducerId((InitProducerIdRequest) request);
            case CREATE_TOPICS -> widen(topicAdmin.create((CreateTopicsRequest) request));
            case DELETE_TOPICS -> widen(topicAdmin.delete((DeleteTopicsRequest) request));
            case OFFSET_FOR_LEADER_EPOCH ->
                    CompletableFuture.completedFuture(offsetForLeaderEpoch.handle((OffsetsForLeaderEpochRequest) request));
            case DELETE_RECORDS -> widen(deleteRecords.handle((DeleteRecordsRequest) request));
            default -> throw new IllegalArgumentException("API not served: " + request.apiKey());
        };
    }

    /**
     * InitProducerId for idempotent producers: a new producer id (never handed out before, also across
     * restarts) at epoch 0. A producer asking to bump its epoch also gets a new id, as Kafka's
     * coordinator answers producers without a transactional id. Transactional ids are refused
     * (INVALID_REQUEST): there is no transaction coordinator yet.
     */
    private CompletableFuture<ApiMessage> initProducerId(InitProducerIdRequest request) {
        if (request.data().transactionalId() != null) {
            return CompletableFuture.completedFuture(new InitProducerIdResponseData()
                    .setErrorCode(Errors.INVALID_REQUEST.code()).setProducerId(-1).setProducerEpoch((short) -1));
        }
        return producerIds.allocate().handle((id, failure) -> failure == null
                ? new InitProducerIdResponseData().setProducerId(id).setProducerEpoch((short) 0)
                : new InitProducerIdResponseData().setErrorCode(BrokerErrors.of(failure).code())
                        .setProducerId(-1).setProducerEpoch((short) -1));
    }

    private static <T extends ApiMessage> CompletableFuture<ApiMessage> widen(CompletableFuture<T> f) {
        return f.thenApply(m -> m);
    }
}
