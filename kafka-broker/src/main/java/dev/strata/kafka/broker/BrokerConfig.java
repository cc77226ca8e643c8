package dev.strata.kafka.broker;

import dev.strata.api.StreamLabels;
import dev.strata.core.Quota;
import dev.strata.kafka.PartitionLogConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Settings of a {@link KafkaBroker}. Immutable; the constructor checks each value and names it.
 *
 * @param host the address to listen on (also what Metadata advertises when clients connect to it)
 * @param port the port to listen on; 0 picks a free one ({@link KafkaBroker#port()} tells which)
 * @param defaultPartitions partitions of a topic created by Metadata (auto-creation) or by
 *     CreateTopics with {@code numPartitions = -1}
 * @param maxRequestBytes largest request accepted (Kafka's {@code socket.request.max.bytes}); a larger
 *     size prefix closes the connection
 * @param logConfig settings of every partition log
 * @param tenantRules which tenant a new topic's streams belong to ({@link TenantRules#none()}: none)
 * @param tenantQuotas quotas set on the store for these tenants when the broker starts
 *     ({@code DurableStreamStore.quotas().setTenantQuota}); needs a {@code DurableStreamStore}
 *     if not empty. Kept in iteration order.
 */
public record BrokerConfig(String host, int port, int defaultPartitions, int maxRequestBytes,
                           PartitionLogConfig logConfig, TenantRules tenantRules, Map<String, Quota> tenantQuotas) {

    /** Kafka's default port. */
    public static final int DEFAULT_PORT = 9092;
    /** Kafka's default {@code socket.request.max.bytes}: 100 MiB. */
    public static final int DEFAULT_MAX_REQUEST_BYTES = 100 * 1024 * 1024;
    /**
     * Largest batch by default: 1 MiB, Strata's default batch limit (12 bytes below Kafka's default
     * {@code max.message.bytes}; the log refuses larger batches with MESSAGE_TOO_LARGE).
     */
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 1 << 20;

    public BrokerConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(logConfig, "logConfig");
        Objects.requireNonNull(tenantRules, "tenantRules");
        Objects.requireNonNull(tenantQuotas, "tenantQuotas");
        tenantQuotas.forEach((tenant, quota) -> {
            StreamLabels.checkTenant(tenant);
            Objects.requireNonNull(quota, "quota of tenant " + tenant);
        });
        tenantQuotas = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(tenantQuotas));
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in [0, 65535], got " + port);
        }
        if (defaultPartitions < 1 || defaultPartitions > Topics.MAX_PARTITIONS) {
            throw new IllegalArgumentException("partitions must be in [1, " + Topics.MAX_PARTITIONS + "], got "
                    + defaultPartitions);
        }
        if (maxRequestBytes < 1024) {
            throw new IllegalArgumentException("maxRequestBytes must be >= 1024, got " + maxRequestBytes);
        }
    }

    /** {@code host}, {@code port} and {@code defaultPartitions}; Kafka's request limit, Strata's batch limit. */
    public static BrokerConfig of(String host, int port, int defaultPartitions) {
        return new BrokerConfig(host, port, defaultPartitions, DEFAULT_MAX_REQUEST_BYTES,
                PartitionLogConfig.builder().maxMessageBytes(DEFAULT_MAX_MESSAGE_BYTES).build(), TenantRules.none(), Map.of());
    }

    /** The same settings with {@code maxRequestBytes}. */
    public BrokerConfig withMaxRequestBytes(int bytes) {
        return new BrokerConfig(host, port, defaultPartitions, bytes, logConfig, tenantRules, tenantQuotas);
    }

    /** The same settings with {@code rules} deciding the tenant of new topics. */
    public BrokerConfig withTenantRules(TenantRules rules) {
        return new BrokerConfig(host, port, defaultPartitions, maxRequestBytes, logConfig, rules, tenantQuotas);
    }

    /**
     * The same settings with {@code quota} for {@code tenant} (replacing an earlier one), set on the
     * store when the broker starts.
     *
     * @throws IllegalArgumentException if {@code tenant} is not a valid tenant name
     */
    public BrokerConfig withTenantQuota(String tenant, Quota quota) {
        Map<String, Quota> quotas = new LinkedHashMap<>(tenantQuotas);
        quotas.put(StreamLabels.checkTenant(tenant), Objects.requireNonNull(quota, "quota"));
        return new BrokerConfig(host, port, defaultPartitions, maxRequestBytes, logConfig, tenantRules, quotas);
    }
}
