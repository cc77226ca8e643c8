package dev.strata.objectstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.objectstore.s3.S3Options;
import dev.strata.objectstore.s3.ServerSideEncryption;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/**
 * The {@code sse*} parameters of an {@code s3://} URI: each mode parses to its
 * {@link ServerSideEncryption}, every misuse fails with an IllegalArgumentException that names the
 * parameter, and the customer key shows in no message, toString or redacted URI.
 */
class S3EncryptionUriTest {
    /** 32 bytes whose standard base64 holds '+', '/' and '=' (0xFB... encodes as "+/v7"). */
    static final byte[] KEY = filled(32, (byte) 0xFB);
    static final String KEY_B64 = Base64.getEncoder().encodeToString(KEY);
    static final String KEY_B64URL = Base64.getUrlEncoder().encodeToString(KEY);

    static byte[] filled(int n, byte b) {
        byte[] a = new byte[n];
        Arrays.fill(a, b);
        return a;
    }

    static S3Options parse(String query) {
        return ObjectStorages.s3Options(URI.create("s3://bucket/p?region=us-east-1" + query));
    }

    static String encoded(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    @Test
    void eachModeParses() {
        assertThat(KEY_B64).contains("+").contains("/").endsWith("=");
        assertThat(parse("").serverSideEncryption()).isEqualTo(ServerSideEncryption.none());
        assertThat(parse("&sse=none").serverSideEncryption()).isEqualTo(ServerSideEncryption.none());
        assertThat(parse("&sse=AES256").serverSideEncryption()).isEqualTo(ServerSideEncryption.s3Managed());
        assertThat(parse("&sse=SSE-S3").serverSideEncryption()).isEqualTo(ServerSideEncryption.s3Managed());
        assertThat(parse("&sse=aws:kms").serverSideEncryption()).isEqualTo(ServerSideEncryption.kms(null, null));
        assertThat(parse("&sse=SSE-KMS&sseKmsKeyId=" + encoded("arn:aws:kms:eu-west-1:1:key/k1") + "&sseBucketKey=true")
                .serverSideEncryption()).isEqualTo(ServerSideEncryption.kms("arn:aws:kms:eu-west-1:1:key/k1", true));
        assertThat(parse("&sse=aws:kms&sseBucketKey=false").serverSideEncryption())
                .isEqualTo(ServerSideEncryption.kms(null, false));
        ServerSideEncryption sseC = ServerSideEncryption.customerKey(KEY);
        assertThat(parse("&sse=SSE-C&sseCustomerKey=" + encoded(KEY_B64)).serverSideEncryption()).isEqualTo(sseC);
        assertThat(parse("&sse=SSE-C&sseCustomerKey=" + KEY_B64URL).serverSideEncryption()).isEqualTo(sseC);
        assertThat(sseC.customerKeyMd5()).isEqualTo(md5(KEY));
    }

    static String md5(byte[] key) {
        try {
            return Base64.getEncoder().encodeToString(java.security.MessageDigest.getInstance("MD5").digest(key));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void theCustomerKeyShowsNowhere() {
        URI uri = URI.create("s3://bucket/p?region=us-east-1&sse=SSE-C&sseCustomerKey=" + encoded(KEY_B64));
        S3Options options = ObjectStorages.s3Options(uri);
        assertThat(options.toString()).contains("sse=SSE-C[customerKey=***]").doesNotContain(KEY_B64)
                .doesNotContain(encoded(KEY_B64)).doesNotContain(KEY_B64URL);
        assertThat(options.serverSideEncryption().toString()).isEqualTo("SSE-C[customerKey=***]");
        assertThat(UriRedaction.isSecretParameter("sseCustomerKey")).isTrue();
        assertThat(UriRedaction.isSecretParameter("sseKmsKeyId")).isTrue();
        assertThat(UriRedaction.isSecretParameter("sse")).isFalse();
        assertThat(UriRedaction.redact(uri)).isEqualTo("s3://bucket/p?region=us-east-1&sse=SSE-C&sseCustomerKey=***");
        assertThat(UriRedaction.redact(URI.create("s3://b/p?sse=aws:kms&sseKmsKeyId=k1&sseBucketKey=true")))
                .isEqualTo("s3://b/p?sse=aws:kms&sseKmsKeyId=***&sseBucketKey=true");
    }

    @Test
    void misuseFailsNamingTheParameterButNeverTheKey() {
        String k = "&sseCustomerKey=" + encoded(KEY_B64);
        String short16 = encoded(Base64.getEncoder().encodeToString(filled(16, (byte) 0xFB)));
        String long33 = encoded(Base64.getEncoder().encodeToString(filled(33, (byte) 0xFB)));
        String[][] cases = {
                {"&sse=AES-256", "sse must be one of"},
                {"&sse=aes256", "sse must be one of"},
                {"&sse=AES256&sseKmsKeyId=k1", "sseKmsKeyId requires sse=aws:kms"},
                {"&sseKmsKeyId=k1", "sseKmsKeyId requires sse=aws:kms"},
                {"&sse=SSE-C&sseBucketKey=true" + k, "sseBucketKey requires sse=aws:kms"},
                {"&sse=aws:kms&sseBucketKey=yes", "sseBucketKey must be true or false"},
                {"&sse=aws:kms&sseKmsKeyId=", "sseKmsKeyId must not be blank"},
                {k, "sseCustomerKey requires sse=SSE-C"},
                {"&sse=aws:kms" + k, "sseCustomerKey requires sse=SSE-C"},
                {"&sse=SSE-C", "sse=SSE-C requires sseCustomerKey"},
                {"&sse=SSE-C&sseCustomerKey=" + short16, "sseCustomerKey must be 32 bytes"},
                {"&sse=SSE-C&sseCustomerKey=" + long33, "sseCustomerKey must be 32 bytes"},
                {"&sse=SSE-C&sseCustomerKey=not*base64", "sseCustomerKey is not valid base64"},
                // '+' not percent-encoded decodes to a space: the message says how to write it
                {"&sse=SSE-C&sseCustomerKey=" + KEY_B64.replace("/", "%2F").replace("=", "%3D"), "%2B"},
        };
        for (String[] c : cases) {
            assertThatThrownBy(() -> parse(c[0])).as(c[0]).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(c[1])
                    .hasMessageNotContaining(KEY_B64).hasMessageNotContaining(KEY_B64URL)
                    .hasMessageNotContaining("+/v7").hasMessageNotContaining(" /v7")
                    .hasMessageNotContaining("not*base64");
        }
    }

    @Test
    void theBuilderRefusesAMissingSetting() {
        assertThatThrownBy(() -> S3Options.builder("b").serverSideEncryption(null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("serverSideEncryption");
        assertThatThrownBy(() -> ServerSideEncryption.customerKey(new byte[31]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got 31 bytes");
        assertThat(S3Options.builder("b").build().serverSideEncryption()).isEqualTo(ServerSideEncryption.none());
    }
}
