package dev.strata.objectstore;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.objectstore.testing.LogCapture;
import dev.strata.objectstore.testing.S3ProxyServer;
import io.netty.buffer.Unpooled;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 18 item 6: no exception (message, causes, suppressed, toString) and no log line produced by
 * a bad object-store URI contains a secret of that URI. Each URI below carries the marker where a
 * secret goes (secretKey, a token or password parameter, user info) and is wrong in some way.
 */
class SecretRedactionTest {
    /** Stands for a secret: it must never be printed. */
    static final String SECRET = "S3CR3T-M4RK3R";

    @RegisterExtension
    static final S3ProxyServer S3 = S3ProxyServer.inMemory();

    /** URIs that {@link ObjectStorages#fromUri} must refuse, each with a secret in it. */
    static List<String> badUris() {
        String creds = "accessKey=AKIDEXAMPLE&secretKey=" + SECRET;
        return List.of(
                "s3://bucket/p?region=us-east-1&" + creds + "&bogus=1", // unknown parameter
                "s3://bucket/p?" + creds + "&regoin=us-east-1", // a typo
                "s3://bucket/p?" + creds + "&SECRETKEY=" + SECRET, // unknown, secret by its name
                "s3://bucket/p?sessionToken=" + SECRET, // unsupported, secret by its name
                "s3://bucket/p?" + creds + "&x-amz-security-token=" + SECRET,
                "s3://bucket/p?dbPassword=" + SECRET + "&" + creds,
                "s3://bucket/p?%73ecretKey=" + SECRET + "&accessKey=a&bogus=2", // encoded name
                "s3://AKIDEXAMPLE:" + SECRET + "@bucket/p", // user info
                "s3://AKIDEXAMPLE:" + SECRET + "@my_bucket/p?region=us-east-1", // user info, a host Java cannot parse
                "s3://bucket/p?region=&" + creds, // empty region
                "s3://bucket/p?endpoint=not%20a%20uri&" + creds, // bad endpoint
                "s3://bucket/p?endpoint=relative/path&" + creds,
                "s3://bucket/p?endpoint=http://user:" + SECRET + "@127.0.0.1:9000&" + creds, // endpoint with user info
                "s3://bucket/p?pathStyle=maybe&" + creds, // malformed values
                "s3://bucket/p?partSizeBytes=abc&" + creds,
                "s3://bucket/p?partSizeBytes=1&" + creds,
                "s3://bucket/p?maxPartsInFlight=0&" + creds,
                "s3://bucket/p?maxConcurrentRequests=-1&" + creds,
                "s3://bucket/p?sse=SSE-C&sseCustomerKey=" + SECRET + "&" + creds, // an SSE-C key that is not base64
                "s3://bucket/p?sse=AES256&sseCustomerKey=" + SECRET, // an SSE-C key without SSE-C
                "s3://bucket/p?sse=bogus&sseCustomerKey=" + SECRET, // an unknown mode
                "s3://bucket/p?sseCustomerKey=" + SECRET + "&sseKmsKeyId=k", // a KMS key without aws:kms
                "s3://bucket/p?secretKey=" + SECRET, // without its accessKey
                "s3://bucket/p?" + creds + "&secretKey=" + SECRET, // given twice
                "s3://bucket/p?accessKey=a&" + SECRET, // a secret pasted without its name
                "s3://bucket/p?accessKey=a&=" + SECRET,
                "s3://bucket/p?" + creds + "&bogus=1#" + SECRET, // fragment
                "s3:///p?" + creds, // missing bucket
                "s3://bucket/p?accessKey=a&secertKey=" + SECRET, // a misspelt secret: not secret by its name
                "s3://bucket/p?pwd=" + SECRET + "&" + creds, // an unknown name that holds a secret
                "s3://bucket/p?endpoint=http://127.0.0.1:9000/?X-Amz-Signature=" + SECRET + "&bogus=1", // in a value
                "s3://bucket/p?endpoint=http%3A%2F%2Fu%3A" + SECRET + "%40127.0.0.1%3A9000&bogus=1", // encoded user info
                "s3:bucket?" + creds, // opaque
                "gs://bucket/p?" + creds, // unsupported scheme
                "file:///tmp/strata-objects?" + creds); // file URIs take no parameters
    }

    @Test
    void everyBadUriFailsWithAMessageThatNamesTheProblemButNotTheSecret() {
        try (LogCapture logs = LogCapture.capture()) {
            for (String text : badUris()) {
                URI uri = URI.create(text);
                Throwable failure = null;
                try (ObjectStorage storage = ObjectStorages.fromUri(uri)) {
                    throw new AssertionError("accepted " + UriRedaction.redact(uri) + " as " + storage);
                } catch (IllegalArgumentException e) {
                    failure = e;
                }
                assertThat(failure.getMessage()).as("message for %s", UriRedaction.redact(uri)).isNotBlank();
                assertNoSecret(failure, UriRedaction.redact(uri));
            }
            assertThat(logs.lines()).noneMatch(line -> line.contains(SECRET));
        }
    }

    @Test
    void redactedUrisKeepWhatIdentifiesTheStoreAndMaskSecrets() {
        assertThat(UriRedaction.redact(URI.create("s3://AK:" + SECRET + "@bucket/prefix?region=eu-west-1&accessKey=AK"
                + "&secretKey=" + SECRET + "&sessionToken=" + SECRET + "&partSizeBytes=8")))
                .isEqualTo("s3://***@bucket/prefix?region=eu-west-1&accessKey=***&secretKey=***&sessionToken=***"
                        + "&partSizeBytes=8");
        assertThat(UriRedaction.redact(URI.create("s3://b/p?" + SECRET + "&x=1"))).isEqualTo("s3://b/p?***&x=***");
        assertThat(UriRedaction.redact(URI.create("s3:b?secretKey=" + SECRET))).isEqualTo("s3:***");
        assertThat(UriRedaction.redact(URI.create("file:///var/lib/strata/objects"))).isEqualTo("file:///var/lib/strata/objects");
    }

    /** A URI that is valid but whose secret is wrong: the storage opens, requests fail 403, nothing shows the secret. */
    @Test
    void aWrongSecretFailsRequestsWithoutShowingIt() {
        S3.createBucket("redaction");
        URI uri = URI.create("s3://redaction/p?region=us-east-1&endpoint=" + S3.endpoint() + "&pathStyle=true&accessKey="
                + S3ProxyServer.ACCESS_KEY + "&secretKey=wrong-" + SECRET);
        try (LogCapture logs = LogCapture.capture(); ObjectStorage storage = ObjectStorages.fromUri(uri)) {
            assertThat(storage.toString()).doesNotContain(SECRET);
            Throwable failure = null;
            try {
                storage.put("k", Unpooled.wrappedBuffer(new byte[] {1})).join();
            } catch (CompletionException e) {
                failure = e;
            }
            assertThat(failure).isNotNull();
            assertThat(failure.getCause()).isInstanceOf(ObjectStorageException.class).hasMessageContaining("status=403");
            assertNoSecret(failure, "put with a wrong secret");
            assertThat(logs.lines()).noneMatch(line -> line.contains(SECRET));
        }
    }

    /** The message, toString and stack trace of {@code t}, its causes and suppressed exceptions. */
    static void assertNoSecret(Throwable t, String context) {
        StringWriter all = new StringWriter();
        t.printStackTrace(new PrintWriter(all));
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            all.append('\n').append(String.valueOf(c.getMessage())).append('\n').append(c.toString())
                    .append('\n').append(String.valueOf(c.getLocalizedMessage()));
        }
        assertThat(all.toString()).as("everything printed for %s", context).doesNotContain(SECRET);
    }
}
