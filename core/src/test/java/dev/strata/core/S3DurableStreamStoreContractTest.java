package dev.strata.core;

import dev.strata.api.StreamStore;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorages;
import dev.strata.objectstore.Retrier;
import dev.strata.objectstore.RetryPolicy;
import dev.strata.objectstore.s3.S3ObjectStorage;
import dev.strata.objectstore.testing.S3ProxyServer;
import dev.strata.testkit.StreamStoreContractTest;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/**
 * The durable engine with objects and manifest in a real S3-compatible server (S3Proxy over HTTP on
 * loopback) obeys the whole contract, restarts included. Each store gets its own key prefix.
 *
 * <p>The server and one HTTP client are started on first use and live until the test JVM exits:
 * the jqwik property runs outside JUnit Jupiter's class lifecycle, and a client per store would
 * cost seconds each to shut down.
 */
class S3DurableStreamStoreContractTest extends StreamStoreContractTest {

    private static final String BUCKET = "strata-contract";
    private static S3ProxyServer server;
    private static S3AsyncClient client;
    private static ScheduledExecutorService retryScheduler;

    private static synchronized void ensureStarted() throws Exception {
        if (server == null) {
            S3ProxyServer s = S3ProxyServer.inMemory();
            s.start();
            s.createBucket(BUCKET);
            client = s.newClient();
            retryScheduler = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "test-s3-retry");
                t.setDaemon(true);
                return t;
            });
            server = s;
        }
    }

    @Override
    protected StreamStore createStore() throws Exception {
        ensureStarted();
        String prefix = "store-" + UUID.randomUUID() + "/";
        ObjectStorage storage = S3ObjectStorage.create(client, ObjectStorages.s3Options(server.objectStoreUri(BUCKET, prefix)),
                new Retrier(RetryPolicy.defaults(), (task, delay) -> retryScheduler.schedule(task, delay, TimeUnit.NANOSECONDS),
                        System::nanoTime, new SplittableRandom(7)));
        return StoreFixtures.open(b -> b.objectStorage(storage));
    }

    @Override
    protected int maxBatchBytes() {
        return StoreFixtures.MAX_BATCH_BYTES;
    }

    @Override
    protected StreamStore restart(StreamStore store) {
        return ((StoreFixtures.OwningStore) store).restart();
    }
}
