package dev.strata.kafka.broker;

import dev.strata.api.StreamStore;
import dev.strata.kafka.KafkaPartitionLog;
import dev.strata.kafka.PartitionLogConfig;
import dev.strata.kafka.broker.TopicCatalog.PartitionStreams;
import dev.strata.kafka.broker.TopicCatalog.TopicEntry;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The topics the broker serves: the durable {@link TopicCatalog} plus each topic's open partition
 * logs.
 *
 * <h2>Concurrency</h2>
 * Lookups ({@link #byName}, {@link #byId}, {@link #all}) read concurrent maps and never wait. Creates
 * and deletes run one at a time, in call order, on a chain of futures ({@code lane}), so that two
 * creates of one name cannot both succeed and the catalog sees a topic's entries in order.
 *
 * <h2>Failure</h2>
 * A topic becomes visible only once its catalog entry is durable; if creating its streams or the
 * entry fails, the streams already created are deleted again (best-effort: a crash in between leaves
 * unreferenced streams, which nothing reads). A delete is durable in the catalog before the topic
 * disappears; its streams are then deleted best-effort, in the background.
 */
final class Topics implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Topics.class);

    /** Largest partition count of one topic (a catalog entry of 16 bytes per partition stays small). */
    static final int MAX_PARTITIONS = 10_000;
    /** The leader epoch the broker stamps on every batch and reports in Metadata: one broker, one epoch. */
    static final int LEADER_EPOCH = 0;

    /** A served topic. */
    record Topic(String name, Uuid id, List<Partition> partitions) {
    }

    private final StreamStore store;
    private final PartitionLogConfig logConfig;
    private final TenantRules tenantRules;
    private final TopicCatalog catalog;
    private final Executor background;
    private final BrokerQuotas quotas;
    private final Map<String, Topic> byName = new ConcurrentHashMap<>();
    private final Map<Uuid, Topic> byId = new ConcurrentHashMap<>();
    private final Map<Uuid, String> names = new ConcurrentHashMap<>();
    private final Object laneLock = new Object();
    private CompletableFuture<?> lane = CompletableFuture.completedFuture(null); // guarded by: laneLock

    private Topics(StreamStore store, PartitionLogConfig logConfig, TenantRules tenantRules, TopicCatalog catalog,
                   Executor background, BrokerQuotas quotas) {
        this.store = store;
        this.quotas = quotas;
        this.logConfig = logConfig;
        this.tenantRules = tenantRules;
        this.catalog = catalog;
        this.background = background;
    }

    /**
     * Opens every partition log {@code catalog} lists.
     *
     * @param tenantRules the tenant and tags of the streams of topics created from now on (those
     *     of existing topics were set when they were created and stay as they are)
     * @param background runs the closing of deleted topics' logs (which waits for their last snapshot)
     * @param quotas takes over the throttling of every served partition's streams ({@link BrokerQuotas#serve})
     */
    static CompletableFuture<Topics> open(StreamStore store, PartitionLogConfig logConfig, TenantRules tenantRules,
                                          TopicCatalog catalog, Executor background, BrokerQuotas quotas) {
        Topics topics = new Topics(store, logConfig, tenantRules, catalog, background, quotas);
        List<CompletableFuture<Topic>> opened = new ArrayList<>();
        for (TopicEntry entry : catalog.topics()) {
            List<CompletableFuture<KafkaPartitionLog>> logs = new ArrayList<>();
            for (PartitionStreams p : entry.partitions()) {
                quotas.serve(p.dataStreamId(), p.metaStreamId());
                logs.add(KafkaPartitionLog.open(store, p.dataStreamId(), p.metaStreamId(), TopicCatalog.STREAM_EPOCH, logConfig));
            }
            opened.add(topics.serve(entry, logs));
        }
        return CompletableFuture.allOf(opened.toArray(CompletableFuture[]::new)).thenApply(v -> {
            opened.forEach(f -> topics.publish(f.join()));
            return topics;
        });
    }

    TopicCatalog catalog() {
        return catalog;
    }

    Topic byName(String name) {
        return name == null ? null : byName.get(name);
    }

    Topic byId(Uuid id) {
        return id == null ? null : byId.get(id);
    }

    Collection<Topic> all() {
        return byName.values();
    }

    /** Topic id to name, for requests that address topics by id (a live, unmodifiable view). */
    Map<Uuid, String> names() {
        return java.util.Collections.unmodifiableMap(names);
    }

    /**
     * Checks a new topic's name and partition count (Kafka's rules and codes).
     *
     * @throws org.apache.kafka.common.errors.InvalidTopicException for an invalid or internal name
     * @throws InvalidPartitionsException for a partition count outside [1, {@link #MAX_PARTITIONS}]
     */
    static void validate(String name, int partitions) {
        org.apache.kafka.common.internals.Topic.validate(name);
        if (org.apache.kafka.common.internals.Topic.isInternal(name)) {
            throw new org.apache.kafka.common.errors.InvalidTopicException("internal topics are not served: " + name);
        }
        if (partitions < 1 || partitions > MAX_PARTITIONS) {
            throw new InvalidPartitionsException("number of partitions must be in [1, " + MAX_PARTITIONS + "], got "
                    + partitions + " for topic " + name);
        }
    }

    /**
     * {@link #validate}, and that the tenant rules give the topic a valid tenant or none (for
     * CreateTopics' {@code validateOnly}).
     *
     * @throws org.apache.kafka.common.errors.InvalidTopicException also for a rule that captures an invalid tenant
     */
    void validateNew(String name, int partitions) {
        validate(name, partitions);
        tenantRules.tenantOf(name);
    }

    /**
     * Creates a topic with {@code partitions} empty partitions and a new topic id; completes once it
     * is durable and served.
     *
     * @return the topic; fails with {@link TopicExistsException}, the exceptions of {@link #validate},
     *     or the store's exception
     */
    CompletableFuture<Topic> create(String name, int partitions) {
        return inLane(() -> {
            validate(name, partitions);
            if (byName.containsKey(name)) {
                throw new TopicExistsException("topic already exists: " + name);
            }
            return createNow(name, partitions);
        });
    }

    /** The topic {@code name}, created with {@code partitions} partitions if it does not exist. */
    CompletableFuture<Topic> getOrCreate(String name, int partitions) {
        Topic existing = byName.get(name);
        if (existing != null) {
            return CompletableFuture.completedFuture(existing);
        }
        return inLane(() -> {
            Topic now = byName.get(name);
            if (now != null) {
                return CompletableFuture.completedFuture(now);
            }
            validate(name, partitions);
            return createNow(name, partitions);
        });
    }

    /** Creates the topic's partitions, each on streams labelled by {@link TenantRules#streamOptions}. */
    private CompletableFuture<Topic> createNow(String name, int partitions) {
        tenantRules.tenantOf(name); // a topic whose tenant is invalid is refused before any stream exists
        List<CompletableFuture<KafkaPartitionLog>> logs = new ArrayList<>();
        for (int i = 0; i < partitions; i++) {
            logs.add(KafkaPartitionLog.create(store, tenantRules.streamOptions(name, i, TopicCatalog.STREAM_EPOCH),
                    logConfig));
        }
        return CompletableFuture.allOf(logs.toArray(CompletableFuture[]::new)).handle((v, error) -> {
            List<PartitionStreams> streams = new ArrayList<>();
            for (CompletableFuture<KafkaPartitionLog> log : logs) {
                if (!log.isCompletedExceptionally()) {
                    streams.add(new PartitionStreams(log.join().streamId(), log.join().metaStreamId()));
                }
            }
            TopicEntry entry = new TopicEntry(name, Uuid.randomUuid(), streams);
            if (error != null) {
                discard(entry, logs);
                throw new java.util.concurrent.CompletionException(BrokerErrors.unwrap(error));
            }
            return catalog.topicCreated(entry).handle((ok, failed) -> {
                if (failed != null) {
                    discard(entry, logs);
                    throw new java.util.concurrent.CompletionException(BrokerErrors.unwrap(failed));
                }
                Topic topic = serve(entry, logs).join(); // all complete
                publish(topic);
                LOG.info("created topic {} (id {}, {} partitions)", name, entry.id(), partitions);
                return topic;
            });
        }).thenCompose(f -> f);
    }

    /**
     * Deletes {@code topic}: durable in the catalog, then no longer served; its logs are closed and
     * their streams deleted in the background.
     */
    CompletableFuture<Void> delete(Topic topic) {
        return inLane(() -> {
            if (byId.get(topic.id()) != topic) {
                throw new UnknownTopicOrPartitionException("topic already deleted: " + topic.name());
            }
            return catalog.topicDeleted(topic.id()).thenRun(() -> {
            byName.remove(topic.name(), topic);
            byId.remove(topic.id(), topic);
            names.remove(topic.id());
            LOG.info("deleted topic {} (id {})", topic.name(), topic.id());
            background.execute(() -> deleteStreams(topic));
            });
        });
    }

    private void deleteStreams(Topic topic) {
        for (Partition p : topic.partitions()) {
            closeQuietly(p.log());
            store.deleteStream(p.log().streamId(), TopicCatalog.STREAM_EPOCH);
            store.deleteStream(p.log().metaStreamId(), TopicCatalog.STREAM_EPOCH);
        }
    }

    private CompletableFuture<Topic> serve(TopicEntry entry, List<CompletableFuture<KafkaPartitionLog>> logs) {
        return CompletableFuture.allOf(logs.toArray(CompletableFuture[]::new)).thenApply(v -> {
            List<Partition> partitions = new ArrayList<>();
            for (int i = 0; i < logs.size(); i++) {
                quotas.serve(logs.get(i).join());
                partitions.add(new Partition(new TopicPartition(entry.name(), i), logs.get(i).join()));
            }
            return new Topic(entry.name(), entry.id(), List.copyOf(partitions));
        });
    }

    private void publish(Topic topic) {
        byName.put(topic.name(), topic);
        byId.put(topic.id(), topic);
        names.put(topic.id(), topic.name());
    }

    /** Closes the logs that were created and deletes their streams (best-effort). */
    private void discard(TopicEntry entry, List<CompletableFuture<KafkaPartitionLog>> logs) {
        for (CompletableFuture<KafkaPartitionLog> log : logs) {
            if (log.isDone() && !log.isCompletedExceptionally()) {
                closeQuietly(log.join());
            }
        }
        for (PartitionStreams p : entry.partitions()) {
            store.deleteStream(p.dataStreamId(), TopicCatalog.STREAM_EPOCH);
            store.deleteStream(p.metaStreamId(), TopicCatalog.STREAM_EPOCH);
        }
    }

    private interface Op<T> {
        CompletableFuture<T> run();
    }

    /** Runs {@code op} after every earlier create/delete has finished (successfully or not). */
    private <T> CompletableFuture<T> inLane(Op<T> op) {
        synchronized (laneLock) {
            CompletableFuture<T> result = lane.handle((v, e) -> op).thenCompose(o -> {
                try {
                    return o.run();
                } catch (RuntimeException e) {
                    return CompletableFuture.failedFuture(e);
                }
            });
            lane = result;
            return result;
        }
    }

    private static void closeQuietly(KafkaPartitionLog log) {
        try {
            log.close();
        } catch (RuntimeException e) {
            LOG.warn("closing the log of streams {}/{} failed", log.streamId(), log.metaStreamId(), e);
        }
    }

    /** Closes every partition log (each writes its last snapshot). The catalog is closed by its owner. */
    @Override
    public void close() {
        for (Topic topic : byName.values()) {
            topic.partitions().forEach(p -> closeQuietly(p.log()));
        }
        byName.clear();
        byId.clear();
        names.clear();
    }
}
