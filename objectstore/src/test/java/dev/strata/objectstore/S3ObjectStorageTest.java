package dev.strata.objectstore;

import dev.strata.objectstore.testing.S3ProxyServer;
import dev.strata.objectstore.s3.S3ObjectStorage;
import dev.strata.objectstore.s3.S3Options;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/** The storage contract on S3ObjectStorage against a real S3-compatible server over HTTP. */
class S3ObjectStorageTest extends ObjectStorageContractTest {

    @RegisterExtension
    static final S3ProxyServer S3 = S3ProxyServer.inMemory();
    static S3ObjectStorage storage;

    @BeforeAll
    static void open() {
        S3.createBucket("contract");
        storage = S3ObjectStorage.create(S3Options.builder("contract")
                .prefix("tenant-1")
                .endpoint(S3.endpoint())
                .region(S3ProxyServer.REGION.id())
                .pathStyle(true)
                .credentials(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY)))
                .partSizeBytes(S3Options.MIN_PART_SIZE_BYTES)
                .build());
    }

    @AfterAll
    static void close() {
        storage.close();
    }

    @Override
    protected ObjectStorage storage() {
        return storage;
    }

    @Override
    protected boolean usesMultipart() {
        return true;
    }

    /** S3Proxy 4.1.0 checks If-Match in its handler, then writes: not atomic (see the contract test). */
    @Override
    protected boolean atomicIfMatch() {
        return false;
    }

    @org.junit.jupiter.api.Test
    void closingFailsRequestsInsteadOfLeavingThemHanging() {
        S3ObjectStorage s = S3ObjectStorage.create(S3Options.builder("contract")
                .endpoint(S3.endpoint()).pathStyle(true)
                .credentials(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY)))
                .build());
        s.close();
        org.assertj.core.api.Assertions.assertThat(failure(s.head("closed/k")))
                .isInstanceOf(ObjectStorageException.class).hasMessageContaining("closed");
    }
}
