package dev.strata.kafka.broker;

import dev.strata.core.Quotas;
import dev.strata.core.ReadAllowance;
import dev.strata.kafka.KafkaPartitionLog;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.requests.FetchResponse;
import org.apache.kafka.common.requests.ProduceResponse;

/**
 * The store's quotas (per tenant, per stream) applied the way Kafka's brokers throttle clients
 * (KIP-219): the broker never holds a request for the quota's delay. Every stream of a served
 * partition is handed to the broker's throttling ({@link Quotas#setCallerThrottled}), so the store
 * charges its appends to the quotas without delaying or refusing them and leaves its catch-up reads
 * to the broker, which charges what a Fetch returns; the broker then answers at once, puts the time the quota asks for in the response's
 * {@code throttle_time_ms}, and stops reading from the connection for that long
 * ({@link RequestHandler}). A Fetch returns no more than the quota holds (nothing while it is in debt).
 *
 * <p>For a store without quotas (not a {@code DurableStreamStore}) everything is unlimited.
 * Thread-safe (the store's quotas are).
 */
final class BrokerQuotas {
    /** No quotas: nothing is throttled. */
    static final BrokerQuotas NONE = new BrokerQuotas(null);

    /** Versions from which the Java client waits out {@code throttle_time_ms} itself (kafka-clients' rule). */
    private static final FetchResponse ANY_FETCH_RESPONSE = FetchResponse.of(
            org.apache.kafka.common.protocol.Errors.NONE, 0, 0, new java.util.LinkedHashMap<>(), java.util.List.of());
    private static final ProduceResponse ANY_PRODUCE_RESPONSE = new ProduceResponse(
            new org.apache.kafka.common.message.ProduceResponseData());

    private final Quotas quotas; // null: none

    BrokerQuotas(Quotas quotas) {
        this.quotas = quotas;
    }

    /** Hands the throttling of {@code log}'s streams (data, meta, time index) to the broker. */
    void serve(KafkaPartitionLog log) {
        serve(log.streamId(), log.metaStreamId(), log.timeIndexStreamId());
    }

    /**
     * Hands the throttling of these streams to the broker (ids below 0 are skipped); before a log is
     * opened too, so its recovery reads neither wait for its tenant's quota nor count against it.
     */
    void serve(long... streamIds) {
        if (quotas == null) {
            return;
        }
        for (long id : streamIds) {
            if (id >= 0) {
                quotas.setCallerThrottled(id, true);
            }
        }
    }

    /** What the catch-up read quotas allow a read of {@code streamId} from {@code offset} now. */
    ReadAllowance readAllowance(long streamId, long offset) {
        return quotas == null ? ReadAllowance.UNLIMITED : quotas.catchUpReadAllowance(streamId, offset);
    }

    /** Charges what a catch-up read of {@code streamId} returned; how long its client must now wait. */
    long chargeCatchUpRead(long streamId, long bytes) {
        return quotas == null ? 0 : quotas.chargeCatchUpRead(streamId, bytes);
    }

    /** How long the append quotas of {@code streamId} (its own and its tenant's) are in debt. */
    long appendWaitNanos(long streamId) {
        return quotas == null ? 0 : quotas.appendWaitNanos(streamId);
    }

    /** {@code nanos} in whole milliseconds, rounded up (a delay of 0.3 ms is reported, as 1 ms). */
    static int throttleTimeMs(long nanos) {
        return nanos <= 0 ? 0 : (int) Math.min(Integer.MAX_VALUE, (nanos + 999_999) / 1_000_000);
    }

    /**
     * Whether a client using {@code version} of {@code api} waits out {@code throttle_time_ms} itself
     * (KIP-219: Fetch from v8, Produce from v6, as kafka-clients' {@code shouldClientThrottle});
     * older clients get their throttled response delayed instead.
     */
    static boolean clientThrottles(ApiKeys api, short version) {
        return switch (api) {
            case FETCH -> ANY_FETCH_RESPONSE.shouldClientThrottle(version);
            case PRODUCE -> ANY_PRODUCE_RESPONSE.shouldClientThrottle(version);
            default -> true;
        };
    }
}
