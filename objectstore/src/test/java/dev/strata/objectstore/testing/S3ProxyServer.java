package dev.strata.objectstore.testing;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/**
 * A real S3-compatible server (S3Proxy) on 127.0.0.1 with a random port, started once per test
 * class. Tests talk to it over real HTTP with the AWS SDK v2.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final S3ProxyServer S3 = S3ProxyServer.inMemory();
 * ...
 * try (S3AsyncClient client = S3.newClient()) { S3.createBucket("b"); ... }
 * }</pre>
 *
 * <p>Credentials are fixed and given explicitly, so the SDK's default provider chain (environment,
 * instance metadata) is never consulted. Shipped in this module's test-jar for every module's tests.
 */
public final class S3ProxyServer implements BeforeAllCallback, AfterAllCallback {

    public static final String ACCESS_KEY = "strata-access";
    public static final String SECRET_KEY = "strata-secret";
    public static final Region REGION = Region.US_EAST_1;

    private final Path directory; // null: in-memory store
    private S3Proxy proxy;
    private URI endpoint;

    private S3ProxyServer(Path directory) {
        this.directory = directory;
    }

    /** A server whose buckets live in memory (jimfs), gone when the server stops. */
    public static S3ProxyServer inMemory() {
        return new S3ProxyServer(null);
    }

    /** A server whose buckets are directories under {@code directory} ({@code <dir>/<bucket>/<key>}). */
    public static S3ProxyServer onDirectory(Path directory) {
        return new S3ProxyServer(directory);
    }

    /** Starts the server; called by JUnit before the class, or by hand outside JUnit. */
    public synchronized void start() throws Exception {
        if (proxy != null) {
            return;
        }
        BlobStore store = directory == null
                ? new TransientNio2BlobStore()
                : new FilesystemNio2BlobStore(directory.toString());
        S3Proxy server = S3Proxy.builder()
                .blobStore(store)
                .endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                .build();
        server.start(); // Jetty's start() returns once the connector is bound
        if (!"STARTED".equals(server.getState())) {
            server.stop();
            throw new IllegalStateException("S3Proxy did not start: state=" + server.getState());
        }
        proxy = server;
        endpoint = URI.create("http://127.0.0.1:" + server.getPort());
    }

    /** Stops the server; idempotent. */
    public synchronized void stop() throws Exception {
        if (proxy != null) {
            proxy.stop();
            proxy = null;
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        start();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        stop();
    }

    /** {@code http://127.0.0.1:<port>}. */
    public URI endpoint() {
        if (endpoint == null) {
            throw new IllegalStateException("S3ProxyServer not started");
        }
        return endpoint;
    }

    /**
     * A URI for {@code ObjectStorage} factories: {@code s3://bucket/prefix?region=...&endpoint=...&pathStyle=true}
     * plus the static test credentials.
     */
    public URI objectStoreUri(String bucket, String prefix) {
        return URI.create("s3://" + bucket + "/" + prefix + "?region=" + REGION.id() + "&endpoint=" + endpoint()
                + "&pathStyle=true&accessKey=" + ACCESS_KEY + "&secretKey=" + SECRET_KEY);
    }

    /**
     * A new async client configured for this server (path-style, static credentials, checksums only
     * when required, as for any S3-compatible store). The caller closes it.
     */
    public S3AsyncClient newClient() {
        return S3AsyncClient.builder()
                .endpointOverride(endpoint())
                .region(REGION)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)))
                .forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .httpClientBuilder(NettyNioAsyncHttpClient.builder()
                        .maxConcurrency(32)
                        .connectionTimeout(Duration.ofSeconds(5)))
                .build();
    }

    /** Creates a bucket (fails if it exists). */
    public void createBucket(String bucket) {
        try (S3AsyncClient client = newClient()) {
            client.createBucket(b -> b.bucket(bucket)).join();
        }
    }
}
