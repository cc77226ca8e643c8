package dev.strata.jmh.core;

import java.net.URI;
import java.nio.file.Path;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;

/**
 * An S3-compatible server (S3Proxy) in this JVM on {@code 127.0.0.1} with a random port, spoken to over
 * real HTTP with the AWS SDK like any S3 endpoint. Its objects are files under a directory (not the
 * heap, so that heap measurements of the engine beside it do not count the stored objects). Bucket
 * {@value #BUCKET} exists from the start. Credentials are fixed and passed in the URI, so the SDK's
 * default provider chain is never consulted. The same set-up as the tests' {@code S3ProxyServer}.
 * Public for the workload runner's {@code --object-store s3-in-process}.
 */
public final class InProcessS3 implements AutoCloseable {
    public static final String BUCKET = "bench";
    private static final String ACCESS_KEY = "strata-access";
    private static final String SECRET_KEY = "strata-secret";

    private final S3Proxy proxy;
    private final URI endpoint;

    private InProcessS3(S3Proxy proxy, URI endpoint) {
        this.proxy = proxy;
        this.endpoint = endpoint;
    }

    /** Starts a server whose buckets are directories under {@code directory}. */
    public static InProcessS3 start(Path directory) throws Exception {
        BlobStore store = new FilesystemNio2BlobStore(directory.toString());
        S3Proxy proxy = S3Proxy.builder()
                .blobStore(store)
                .endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                .build();
        proxy.start(); // returns once the connector is bound
        if (!"STARTED".equals(proxy.getState())) {
            proxy.stop();
            throw new IllegalStateException("S3Proxy did not start: state=" + proxy.getState());
        }
        store.createContainer(BUCKET);
        return new InProcessS3(proxy, URI.create("http://127.0.0.1:" + proxy.getPort()));
    }

    /** {@code s3://bench/<prefix>?...} with this server's endpoint and credentials. */
    public URI objectStoreUri(String prefix) {
        return URI.create("s3://" + BUCKET + "/" + prefix + "?region=us-east-1&endpoint=" + endpoint
                + "&pathStyle=true&accessKey=" + ACCESS_KEY + "&secretKey=" + SECRET_KEY);
    }

    /** Stops the server. */
    @Override
    public void close() {
        try {
            proxy.stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            throw new IllegalStateException("stopping S3Proxy on " + endpoint + " failed", e);
        }
    }
}
