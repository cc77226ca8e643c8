package dev.strata.wal.objectstore;

import dev.strata.objectstore.ForwardingObjectStorage;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorages;
import dev.strata.objectstore.testing.S3ProxyServer;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * wal-api's WAL contract on an {@link ObjectStoreWal} over the in-process S3 server (S3Proxy over real
 * HTTP, with If-None-Match: * on PUT). Each test gets its own prefix in one bucket.
 */
class S3ObjectStoreWalSpiContractTest extends ObjectStoreWalSpiContract {
    @RegisterExtension
    static final S3ProxyServer S3 = S3ProxyServer.inMemory();
    private static final AtomicInteger PREFIXES = new AtomicInteger();
    private static ObjectStorage shared;

    @BeforeAll
    static void start() {
        S3.createBucket("walspi");
        shared = ObjectStorages.fromUri(S3.objectStoreUri("walspi", "cluster"));
    }

    @AfterAll
    static void stop() {
        shared.close();
    }

    @Override
    protected ObjectStorage newStorage() {
        return new ForwardingObjectStorage(shared) { }; // its close leaves the shared client open
    }

    @Override
    protected String newPrefix() {
        return "node-" + PREFIXES.incrementAndGet();
    }
}
