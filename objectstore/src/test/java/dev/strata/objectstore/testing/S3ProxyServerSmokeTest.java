package dev.strata.objectstore.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/** The fixture serves real S3 over HTTP on loopback: PUT, GET, ranged GET, conditional PUT. */
class S3ProxyServerSmokeTest {

    @RegisterExtension
    static final S3ProxyServer S3 = S3ProxyServer.inMemory();

    @Test
    void putThenGetOverRealHttpReturnsSameBytes() {
        S3.createBucket("smoke");
        byte[] body = "hello strata over s3".getBytes(StandardCharsets.UTF_8);
        try (S3AsyncClient client = S3.newClient()) {
            client.putObject(r -> r.bucket("smoke").key("a/b"), AsyncRequestBody.fromBytes(body)).join();

            byte[] got = client.getObject(r -> r.bucket("smoke").key("a/b"), AsyncResponseTransformer.toBytes())
                    .join().asByteArray();
            assertThat(got).isEqualTo(body);

            byte[] range = client.getObject(r -> r.bucket("smoke").key("a/b").range("bytes=6-11"),
                    AsyncResponseTransformer.toBytes()).join().asByteArray();
            assertThat(new String(range, StandardCharsets.UTF_8)).isEqualTo("strata");

            assertThatThrownBy(() -> client.getObject(r -> r.bucket("smoke").key("missing"),
                    AsyncResponseTransformer.toBytes()).join())
                    .isInstanceOf(CompletionException.class)
                    .hasCauseInstanceOf(NoSuchKeyException.class);
        }
        assertThat(S3.endpoint().getHost()).isEqualTo("127.0.0.1");
    }

    @Test
    void conditionalCreateIsRejectedWhenKeyExists() {
        S3.createBucket("cond");
        try (S3AsyncClient client = S3.newClient()) {
            client.putObject(r -> r.bucket("cond").key("k").ifNoneMatch("*"), AsyncRequestBody.fromString("first")).join();
            assertThatThrownBy(() -> client.putObject(r -> r.bucket("cond").key("k").ifNoneMatch("*"),
                    AsyncRequestBody.fromString("second")).join())
                    .cause()
                    .isInstanceOf(S3Exception.class)
                    .satisfies(e -> assertThat(((S3Exception) e).statusCode()).isEqualTo(412));
            String kept = client.getObject(r -> r.bucket("cond").key("k"), AsyncResponseTransformer.toBytes())
                    .join().asUtf8String();
            assertThat(kept).isEqualTo("first");
        }
    }
}
