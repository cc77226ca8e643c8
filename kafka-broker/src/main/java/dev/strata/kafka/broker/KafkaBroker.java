package dev.strata.kafka.broker;

import dev.strata.api.StreamStore;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.Quotas;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A single-node Kafka-protocol broker on a Strata {@link StreamStore}: Kafka clients (producers,
 * consumers with manual assignment or in classic consumer groups, the admin client) use it unchanged. Each partition is a
 * {@link dev.strata.kafka.KafkaPartitionLog}; the topics are listed in a catalog stream
 * ({@link TopicCatalog}). Requests and responses are kafka-clients' own classes; the network is Netty.
 *
 * <pre>{@code
 * try (DurableStreamStore store = Strata.builder().dataDir(dir).build();
 *      KafkaBroker broker = KafkaBroker.start(store, BrokerConfig.of("127.0.0.1", 9092, 1))) {
 *     ... // bootstrap.servers=127.0.0.1:9092
 * }
 * }</pre>
 *
 * <h2>Threads</h2>
 * "strata-kafka-broker-accept" accepts connections; "strata-kafka-broker-io-N" (one per core) read,
 * parse and dispatch requests and write responses, never blocking on storage: a request's work is a
 * chain of futures that Strata completes on its own threads, and the response hops back to the
 * connection's I/O thread. "strata-kafka-broker-scheduler" expires waiting fetches and removes expired
 * producer ids every {@link #PRODUCER_EXPIRATION_CHECK_MS} ms, and runs the consumer groups' timers. (Exception: when the store applies
 * backpressure, a Produce's append waits inside the store, on the I/O thread, for at most the store's
 * {@code appendBackpressureWait}.)
 *
 * <h2>Durability</h2>
 * Every acknowledged produce is durable in the store; topics and producer-id blocks are durable in
 * the catalog before they are used; committed group offsets are durable in their stream before
 * OffsetCommit is answered. The broker does not own the store: close the store after the broker.
 *
 * <h2>Thread-safety</h2>
 * {@link #port()} and {@link #close()} may be called from any thread; {@code close()} is idempotent.
 */
public final class KafkaBroker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaBroker.class);

    /** Kafka's default {@code producer.id.expiration.check.interval.ms}: 10 minutes. */
    static final long PRODUCER_EXPIRATION_CHECK_MS = 600_000;

    private final TopicCatalog catalog;
    private final Topics topics;
    private final GroupOffsets groupOffsets;
    private final ScheduledExecutorService scheduler;
    private final EventLoopGroup acceptGroup;
    private final EventLoopGroup ioGroup;
    private final Channel serverChannel;
    private boolean closed; // guarded by: this

    private KafkaBroker(TopicCatalog catalog, Topics topics, GroupOffsets groupOffsets, ScheduledExecutorService scheduler,
                        EventLoopGroup acceptGroup, EventLoopGroup ioGroup, Channel serverChannel) {
        this.catalog = catalog;
        this.topics = topics;
        this.groupOffsets = groupOffsets;
        this.scheduler = scheduler;
        this.acceptGroup = acceptGroup;
        this.ioGroup = ioGroup;
        this.serverChannel = serverChannel;
    }

    /**
     * Opens the catalog of {@code store} (creating it in an empty store), opens every partition log it
     * lists, and listens on {@code config.host():config.port()}. Returns once connections are accepted.
     *
     * @throws IllegalStateException if the store holds streams but no broker catalog
     * @throws dev.strata.api.StrataException (or a subclass of it) if the store fails
     * @throws io.netty.channel.ChannelException or {@link java.net.BindException} if the address cannot be bound
     */
    public static KafkaBroker start(StreamStore store, BrokerConfig config) {
        ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1,
                new DefaultThreadFactory("strata-kafka-broker-scheduler", true));
        scheduler.setRemoveOnCancelPolicy(true);
        TopicCatalog catalog = null;
        Topics topics = null;
        GroupOffsets groupOffsets = null;
        EventLoopGroup acceptGroup = null;
        EventLoopGroup ioGroup = null;
        try {
            BrokerQuotas quotas = applyTenantQuotas(store, config);
            catalog = join(TopicCatalog.open(store));
            topics = join(Topics.open(store, config.logConfig(), config.tenantRules(), catalog, scheduler, quotas));
            Topics served = topics;
            scheduler.scheduleWithFixedDelay(() -> removeExpiredProducers(served), PRODUCER_EXPIRATION_CHECK_MS,
                    PRODUCER_EXPIRATION_CHECK_MS, TimeUnit.MILLISECONDS);
            groupOffsets = join(GroupOffsets.open(store, catalog, GroupOffsets.DEFAULT_COMPACT_MIN_ENTRIES));
            GroupScheduler groupScheduler = GroupScheduler.of(scheduler);
            GroupConfig groupConfig = GroupConfig.defaults();
            GroupHandler groups = new GroupHandler(new GroupCoordinator(groupConfig, groupScheduler), groupOffsets, topics,
                    groupScheduler, groupConfig);
            KafkaApis apis = new KafkaApis(topics, new ProducerIds(catalog), scheduler, config.defaultPartitions(), groups,
                    quotas);
            acceptGroup = new NioEventLoopGroup(1, new DefaultThreadFactory("strata-kafka-broker-accept"));
            ioGroup = new NioEventLoopGroup(0, new DefaultThreadFactory("strata-kafka-broker-io"));
            int maxFrame = config.maxRequestBytes() + Integer.BYTES;
            Channel server = new ServerBootstrap()
                    .group(acceptGroup, ioGroup)
                    .channel(NioServerSocketChannel.class)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(
                                    // size:int32 then the request; a size above the limit or negative
                                    // fails the connection (exceptionCaught closes it)
                                    new LengthFieldBasedFrameDecoder(maxFrame, 0, Integer.BYTES, 0, Integer.BYTES),
                                    new LengthFieldPrepender(Integer.BYTES),
                                    new RequestHandler(apis));
                        }
                    })
                    .bind(config.host(), config.port()).sync().channel();
            KafkaBroker broker = new KafkaBroker(catalog, topics, groupOffsets, scheduler, acceptGroup, ioGroup, server);
            LOG.info("listening on {}, {} topics, cluster id {}", server.localAddress(), topics.all().size(),
                    catalog.clusterId());
            return broker;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeAll(acceptGroup, ioGroup, scheduler, topics, groupOffsets, catalog);
            throw new IllegalStateException("interrupted while binding " + config.host() + ":" + config.port(), e);
        } catch (RuntimeException e) {
            closeAll(acceptGroup, ioGroup, scheduler, topics, groupOffsets, catalog);
            throw e;
        }
    }

    /**
     * Sets {@code config}'s tenant quotas on the store, and returns the store's quotas as the broker
     * applies them ({@link BrokerQuotas#NONE} for a store without quotas).
     *
     * @throws IllegalArgumentException if {@code config} has tenant quotas and the store has no quotas
     *     (it is not a {@link DurableStreamStore})
     */
    private static BrokerQuotas applyTenantQuotas(StreamStore store, BrokerConfig config) {
        if (!(store instanceof DurableStreamStore durable)) {
            if (!config.tenantQuotas().isEmpty()) {
                throw new IllegalArgumentException("tenant quotas need a DurableStreamStore, got "
                        + store.getClass().getName() + ": tenantQuotas=" + config.tenantQuotas().keySet());
            }
            return BrokerQuotas.NONE;
        }
        Quotas quotas = durable.quotas();
        config.tenantQuotas().forEach((tenant, quota) -> {
            quotas.setTenantQuota(tenant, quota);
            LOG.info("tenant {}: quota append={} B/s catch-up read={} B/s", tenant, rate(quota.appendBytesPerSecond()),
                    rate(quota.catchUpReadBytesPerSecond()));
        });
        return new BrokerQuotas(quotas);
    }

    private static String rate(long bytesPerSecond) {
        return bytesPerSecond == dev.strata.core.Quota.UNLIMITED ? "unlimited" : Long.toString(bytesPerSecond);
    }

    /** The port the broker listens on (the one picked when configured with 0). */
    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /**
     * Stops accepting, closes every connection (requests in flight are not answered; produces in flight
     * either become durable or fail), then closes every partition log (each writes its last snapshot)
     * and the catalog. Does not close the store. Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        serverChannel.close().syncUninterruptibly();
        closeAll(acceptGroup, ioGroup, scheduler, topics, groupOffsets, catalog);
        LOG.info("closed");
    }

    private static void closeAll(EventLoopGroup acceptGroup, EventLoopGroup ioGroup, ScheduledExecutorService scheduler,
                                 Topics topics, GroupOffsets groupOffsets, TopicCatalog catalog) {
        if (acceptGroup != null) {
            acceptGroup.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        }
        if (ioGroup != null) {
            ioGroup.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        }
        scheduler.shutdownNow();
        if (topics != null) {
            topics.close();
        }
        if (groupOffsets != null) {
            groupOffsets.close();
        }
        if (catalog != null) {
            catalog.close();
        }
    }

    private static void removeExpiredProducers(Topics topics) {
        try {
            topics.all().forEach(t -> t.partitions().forEach(p -> p.log().removeExpiredProducers()));
        } catch (RuntimeException e) {
            LOG.warn("removing expired producer ids failed", e);
        }
    }

    private static <T> T join(java.util.concurrent.CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (java.util.concurrent.CompletionException e) {
            Throwable cause = BrokerErrors.unwrap(e);
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }
}
