package dev.strata.kafka.broker;

import dev.strata.core.DurableStreamStore;
import dev.strata.core.Strata;
import java.nio.file.Path;
import java.time.Duration;

/** A broker on a durable store in {@code dir}, on a free port, with small store settings; restartable. */
final class TestBroker implements AutoCloseable {
    private final Path dir;
    private final BrokerConfig config;
    private DurableStreamStore store;
    private KafkaBroker broker;

    TestBroker(Path dir, BrokerConfig config) {
        this.dir = dir;
        this.config = config;
        start();
    }

    TestBroker(Path dir, int defaultPartitions) {
        this(dir, BrokerConfig.of("127.0.0.1", 0, defaultPartitions));
    }

    private void start() {
        store = Strata.builder()
                .dataDir(dir)
                .walCapacity(32L << 20)
                .logCacheBytes(16L << 20)
                .blockCacheBytes(4L << 20)
                .maxInFlightReadBytes(4L << 20)
                .uploadThresholdBytes(2L << 20)
                .uploadInterval(Duration.ofMillis(200))
                .build();
        broker = KafkaBroker.start(store, config);
    }

    /** Closes broker and store, then starts both again on the same directory (a new port). */
    void restart() {
        close();
        start();
    }

    /** The store under the broker (replaced by {@link #restart()}). */
    DurableStreamStore store() {
        return store;
    }

    String bootstrap() {
        return "127.0.0.1:" + broker.port();
    }

    int port() {
        return broker.port();
    }

    @Override
    public void close() {
        try {
            broker.close();
        } finally {
            store.close();
        }
    }
}
