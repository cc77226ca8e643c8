package dev.strata.objectstore.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.PutCondition;
import dev.strata.objectstore.testing.S3ProxyServer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;

/**
 * Server-side encryption on the wire and against S3Proxy 4.1.0. An {@link ExecutionInterceptor}
 * records the headers of every HTTP request the storage sends; for each mode a put, a multipart
 * upload, a ranged get and a head must carry exactly the mode's {@code x-amz-server-side-encryption*}
 * headers. S3Proxy's in-memory store implements SSE (it records the mode, echoes it and, for SSE-C,
 * refuses reads without the right key), so the round trips run there; its filesystem store does not
 * (501 NotImplemented), which must surface as a permanent, typed failure.
 */
class ServerSideEncryptionTest {

    @RegisterExtension
    static final S3ProxyServer S3 = S3ProxyServer.inMemory();

    static final byte[] KEY = new byte[ServerSideEncryption.CUSTOMER_KEY_BYTES];
    static final byte[] OTHER_KEY = new byte[ServerSideEncryption.CUSTOMER_KEY_BYTES];

    static {
        new SplittableRandom(7).nextBytes(KEY);
        new SplittableRandom(8).nextBytes(OTHER_KEY);
    }

    /** One HTTP request as sent: the SDK operation name and the encryption headers (lower-case names). */
    record Sent(String operation, Map<String, String> sseHeaders) {
    }

    /** The encryption headers of one response. */
    record Received(String operation, Map<String, String> sseHeaders) {
    }

    /** Records the x-amz-server-side-encryption* headers of every request, after signing. */
    static final class HeaderRecorder implements ExecutionInterceptor {
        final List<Sent> sent = Collections.synchronizedList(new ArrayList<>());
        final List<Received> received = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
            sent.add(new Sent(attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME),
                    sseHeaders(context.httpRequest().headers())));
        }

        @Override
        public void afterTransmission(Context.AfterTransmission context, ExecutionAttributes attributes) {
            received.add(new Received(attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME),
                    sseHeaders(context.httpResponse().headers())));
        }

        private static Map<String, String> sseHeaders(Map<String, List<String>> headers) {
            Map<String, String> sse = new TreeMap<>();
            headers.forEach((name, values) -> {
                String n = name.toLowerCase(Locale.ROOT);
                if (n.startsWith("x-amz-server-side-encryption")) {
                    sse.put(n, String.join(",", values));
                }
            });
            return sse;
        }

        List<Received> answers(String operation) {
            synchronized (received) {
                return received.stream().filter(s -> s.operation().equals(operation)).toList();
            }
        }

        List<Sent> of(String operation) {
            synchronized (sent) {
                return sent.stream().filter(s -> s.operation().equals(operation)).toList();
            }
        }
    }

    static final String KMS_KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd";

    /** Every mode S3Proxy's in-memory store accepts (it refuses aws:kms without a key id, see below). */
    static Stream<ServerSideEncryption> modes() {
        return Stream.of(ServerSideEncryption.none(), ServerSideEncryption.s3Managed(),
                ServerSideEncryption.kms(KMS_KEY, null), ServerSideEncryption.kms(KMS_KEY, true),
                ServerSideEncryption.customerKey(KEY));
    }

    static Stream<ServerSideEncryption> encryptingModes() {
        return Stream.concat(modes(), Stream.of(ServerSideEncryption.kms(null, false)))
                .filter(m -> m.mode() != ServerSideEncryption.Mode.NONE);
    }

    /** What S3Proxy answers on a write or read of an object stored under {@code sse} (AWS answers the same). */
    static Map<String, String> echoed(ServerSideEncryption sse) throws Exception {
        Map<String, String> h = new TreeMap<>();
        switch (sse.mode()) {
            case NONE -> { }
            case SSE_S3 -> h.put("x-amz-server-side-encryption", "AES256");
            case SSE_KMS -> {
                h.put("x-amz-server-side-encryption", "aws:kms");
                h.put("x-amz-server-side-encryption-aws-kms-key-id", sse.kmsKeyId());
                if (sse.bucketKeyEnabled() != null) {
                    h.put("x-amz-server-side-encryption-bucket-key-enabled", sse.bucketKeyEnabled().toString());
                }
            }
            case SSE_C -> {
                h.putAll(customerKeyHeaders());
                h.remove("x-amz-server-side-encryption-customer-key"); // never sent back
            }
        }
        return h;
    }

    static S3Options.Builder options(String bucket, java.net.URI endpoint) {
        return S3Options.builder(bucket).prefix("p").endpoint(endpoint).region(S3ProxyServer.REGION.id())
                .pathStyle(true).partSizeBytes(S3Options.MIN_PART_SIZE_BYTES)
                .credentials(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(S3ProxyServer.ACCESS_KEY, S3ProxyServer.SECRET_KEY)));
    }

    /** What a write (PutObject, CreateMultipartUpload) must carry. */
    static Map<String, String> writeHeaders(ServerSideEncryption sse) throws Exception {
        Map<String, String> h = new TreeMap<>();
        switch (sse.mode()) {
            case NONE -> { }
            case SSE_S3 -> h.put("x-amz-server-side-encryption", "AES256");
            case SSE_KMS -> {
                h.put("x-amz-server-side-encryption", "aws:kms");
                if (sse.kmsKeyId() != null) {
                    h.put("x-amz-server-side-encryption-aws-kms-key-id", sse.kmsKeyId());
                }
                if (sse.bucketKeyEnabled() != null) {
                    h.put("x-amz-server-side-encryption-bucket-key-enabled", sse.bucketKeyEnabled().toString());
                }
            }
            case SSE_C -> h.putAll(customerKeyHeaders());
        }
        return h;
    }

    /** What every request touching an SSE-C object's data carries; the MD5 computed here, independently. */
    static Map<String, String> customerKeyHeaders() throws Exception {
        Base64.Encoder b64 = Base64.getEncoder();
        return Map.of("x-amz-server-side-encryption-customer-algorithm", "AES256",
                "x-amz-server-side-encryption-customer-key", b64.encodeToString(KEY),
                "x-amz-server-side-encryption-customer-key-md5",
                b64.encodeToString(MessageDigest.getInstance("MD5").digest(KEY)));
    }

    /** What a request that does not write (UploadPart, Complete, GET, HEAD) carries: SSE-C's key only. */
    static Map<String, String> dataHeaders(ServerSideEncryption sse) throws Exception {
        return sse.mode() == ServerSideEncryption.Mode.SSE_C ? customerKeyHeaders() : Map.of();
    }

    static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    @ParameterizedTest
    @MethodSource("modes")
    void everyRequestCarriesExactlyTheModesHeadersAndTheRoundTripWorksOnS3Proxy(ServerSideEncryption sse)
            throws Exception {
        String bucket = "sse-" + Integer.toHexString(sse.toString().hashCode() & 0xfffffff);
        S3.createBucket(bucket);
        HeaderRecorder recorder = new HeaderRecorder();
        try (S3ObjectStorage storage = S3ObjectStorage.create(options(bucket, S3.endpoint())
                .serverSideEncryption(sse).build(), List.of(recorder))) {
            byte[] small = bytes(10_000, 1);
            storage.put("small", Unpooled.wrappedBuffer(small), PutCondition.ifAbsent()).join();

            byte[] big = bytes(S3Options.MIN_PART_SIZE_BYTES * 2 + 1234, 2); // three parts
            ObjectUpload upload = storage.startUpload("big", PutCondition.none());
            for (int off = 0; off < big.length; off += 1 << 20) {
                upload.write(Unpooled.wrappedBuffer(big, off, Math.min(1 << 20, big.length - off))).join();
            }
            ObjectInfo bigInfo = upload.complete().join();
            assertThat(bigInfo.size()).isEqualTo(big.length);

            assertThat(read(storage, "small", ByteRange.of(100, 200))).isEqualTo(slice(small, 100, 200));
            // across the first part boundary
            int from = S3Options.MIN_PART_SIZE_BYTES - 1000;
            assertThat(read(storage, "big", ByteRange.of(from, 5000))).isEqualTo(slice(big, from, 5000));
            assertThat(storage.head("big").join().size()).isEqualTo(big.length);

            Map<String, String> write = writeHeaders(sse);
            Map<String, String> data = dataHeaders(sse);
            assertThat(recorder.of("PutObject")).extracting(Sent::sseHeaders).containsExactly(write);
            assertThat(recorder.of("CreateMultipartUpload")).extracting(Sent::sseHeaders).containsExactly(write);
            assertThat(recorder.of("UploadPart")).hasSize(3).extracting(Sent::sseHeaders).containsOnly(data);
            assertThat(recorder.of("CompleteMultipartUpload")).extracting(Sent::sseHeaders).containsExactly(data);
            assertThat(recorder.of("GetObject")).hasSize(2).extracting(Sent::sseHeaders).containsOnly(data);
            assertThat(recorder.of("HeadObject")).extracting(Sent::sseHeaders).containsExactly(data);

            storage.delete(List.of("small", "big")).join();
            assertThat(storage.list("").join()).isEmpty();
            assertThat(recorder.of("DeleteObjects")).extracting(Sent::sseHeaders).containsOnly(Map.of());
            assertThat(recorder.of("ListObjectsV2")).extracting(Sent::sseHeaders).containsOnly(Map.of());
            if (sse.mode() != ServerSideEncryption.Mode.NONE) { // none: the bucket's default, not ours to check
                Map<String, String> echo = echoed(sse);
                for (String op : List.of("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload",
                        "GetObject", "HeadObject")) {
                    assertThat(recorder.answers(op)).as("%s answers", op).isNotEmpty()
                            .extracting(Received::sseHeaders).containsOnly(echo);
                }
            }
        }
    }

    /**
     * aws:kms without a key id means the account's default KMS key on AWS; S3Proxy 4.1.0 refuses it
     * (400 InvalidArgument "requires x-amz-server-side-encryption-aws-kms-key-id"). The headers are
     * still exactly SSE-KMS's, and the refusal is a permanent typed failure of the write, not retried.
     */
    @Test
    void kmsWithTheDefaultKeySendsItsHeadersAndS3ProxysRefusalIsPermanent() throws Exception {
        S3.createBucket("kms-default");
        ServerSideEncryption sse = ServerSideEncryption.kms(null, false);
        HeaderRecorder recorder = new HeaderRecorder();
        try (S3ObjectStorage storage = S3ObjectStorage.create(options("kms-default", S3.endpoint())
                .serverSideEncryption(sse).build(), List.of(recorder))) {
            ObjectStorageException put = failure(storage.put("k", Unpooled.wrappedBuffer(bytes(10, 4)),
                    PutCondition.none()));
            assertThat(put.kind()).isEqualTo(ObjectStorageException.Kind.PERMANENT);
            assertThat(put.operation()).isEqualTo(Operation.PUT);
            assertThat(put.httpStatus()).isEqualTo(400);
            assertThat(put).hasMessageContaining("InvalidArgument");
            ObjectUpload upload = storage.startUpload("big", PutCondition.none());
            upload.write(Unpooled.wrappedBuffer(bytes(S3Options.MIN_PART_SIZE_BYTES, 5)));
            assertThat(failure(upload.complete()).operation()).isEqualTo(Operation.MULTIPART_CREATE);
            assertThat(storage.metrics().stats(Operation.PUT).requests()).as("one attempt").isEqualTo(1);
            assertThat(storage.metrics().stats(Operation.MULTIPART_CREATE).requests()).isEqualTo(1);
            Map<String, String> write = Map.of("x-amz-server-side-encryption", "aws:kms",
                    "x-amz-server-side-encryption-bucket-key-enabled", "false");
            assertThat(recorder.of("PutObject")).extracting(Sent::sseHeaders).containsExactly(write);
            assertThat(recorder.of("CreateMultipartUpload")).extracting(Sent::sseHeaders).containsExactly(write);
            assertThat(recorder.of("UploadPart")).isEmpty();
        }
    }

    /** S3Proxy enforces SSE-C: an object written under a key cannot be read without it, or with another. */
    @Test
    void anSseCObjectIsUnreadableWithoutItsKeyOnS3Proxy() {
        S3.createBucket("ssec-enforced");
        try (S3ObjectStorage withKey = S3ObjectStorage.create(options("ssec-enforced", S3.endpoint())
                .serverSideEncryption(ServerSideEncryption.customerKey(KEY)).build(), List.of());
             S3ObjectStorage withoutKey = S3ObjectStorage.create(options("ssec-enforced", S3.endpoint()).build(),
                     List.of());
             S3ObjectStorage otherKey = S3ObjectStorage.create(options("ssec-enforced", S3.endpoint())
                     .serverSideEncryption(ServerSideEncryption.customerKey(OTHER_KEY)).build(), List.of())) {
            withKey.put("k", Unpooled.wrappedBuffer(bytes(100, 3)), PutCondition.none()).join();
            for (S3ObjectStorage wrong : List.of(withoutKey, otherKey)) {
                ObjectStorageException e = failure(wrong.get("k", ByteRange.of(0, 10)));
                assertThat(e.kind()).isEqualTo(ObjectStorageException.Kind.PERMANENT);
                assertThat(e.operation()).isEqualTo(Operation.GET);
                assertThat(e.httpStatus()).isEqualTo(400);
                assertThat(e).hasMessageNotContaining(Base64.getEncoder().encodeToString(KEY))
                        .hasMessageNotContaining(Base64.getEncoder().encodeToString(OTHER_KEY));
            }
            assertThat(read(withKey, "k", ByteRange.of(0, 100))).isEqualTo(bytes(100, 3));
        }
    }

    /**
     * S3Proxy's filesystem store does not implement SSE: every mode's write fails at once with a
     * PERMANENT ObjectStorageException naming the operation (one attempt, no retries); no mode
     * pretends to work. Without encryption the same store works.
     */
    @Test
    void aServerWithoutSseRefusesEveryModeWithAPermanentTypedFailure(@TempDir Path dir) throws Exception {
        S3ProxyServer fs = S3ProxyServer.onDirectory(dir);
        fs.start();
        try {
            fs.createBucket("plain");
            for (ServerSideEncryption sse : encryptingModes().toList()) {
                try (S3ObjectStorage storage = S3ObjectStorage.create(options("plain", fs.endpoint())
                        .serverSideEncryption(sse).build(), List.of())) {
                    ObjectStorageException put = failure(storage.put("k", Unpooled.wrappedBuffer(bytes(10, 4)),
                            PutCondition.none()));
                    assertThat(put.kind()).as("%s", sse).isEqualTo(ObjectStorageException.Kind.PERMANENT);
                    assertThat(put.operation()).isEqualTo(Operation.PUT);
                    assertThat(put.httpStatus()).isEqualTo(501);
                    assertThat(put).hasMessageContaining("NotImplemented")
                            .hasMessageNotContaining(Base64.getEncoder().encodeToString(KEY));
                    assertThat(storage.metrics().stats(Operation.PUT).requests()).as("one attempt").isEqualTo(1);

                    ObjectUpload upload = storage.startUpload("big", PutCondition.none());
                    upload.write(Unpooled.wrappedBuffer(bytes(S3Options.MIN_PART_SIZE_BYTES, 5)));
                    ObjectStorageException multipart = failure(upload.complete());
                    assertThat(multipart.kind()).isEqualTo(ObjectStorageException.Kind.PERMANENT);
                    assertThat(multipart.operation()).isEqualTo(Operation.MULTIPART_CREATE);
                    assertThat(storage.list("").join()).as("nothing written under %s", sse).isEmpty();
                }
            }
            try (S3ObjectStorage storage = S3ObjectStorage.create(options("plain", fs.endpoint()).build(), List.of())) {
                storage.put("k", Unpooled.wrappedBuffer(bytes(10, 4)), PutCondition.none()).join();
                assertThat(read(storage, "k", ByteRange.of(0, 10))).isEqualTo(bytes(10, 4));
            }
        } finally {
            fs.stop();
        }
    }

    static byte[] read(S3ObjectStorage storage, String key, ByteRange range) {
        ObjectData d = storage.get(key, range).join();
        ByteBuf content = d.content();
        try {
            return ByteBufUtil.getBytes(content);
        } finally {
            content.release();
        }
    }

    static byte[] slice(byte[] b, int from, int length) {
        return java.util.Arrays.copyOfRange(b, from, from + length);
    }

    static ObjectStorageException failure(CompletableFuture<?> f) {
        try {
            f.join();
        } catch (CompletionException e) {
            assertThat(e.getCause()).isInstanceOf(ObjectStorageException.class);
            return (ObjectStorageException) e.getCause();
        }
        throw new AssertionError("expected a failure");
    }
}
