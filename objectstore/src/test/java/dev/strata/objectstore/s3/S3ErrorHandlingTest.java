package dev.strata.objectstore.s3;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectNotFoundException;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.ObjectStorageException.Kind;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.PreconditionFailedException;
import dev.strata.objectstore.PutCondition;
import dev.strata.objectstore.Retrier;
import dev.strata.objectstore.RetryPolicy;
import dev.strata.objectstore.testing.ImmediateScheduler;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.services.s3.S3AsyncClient;

/**
 * S3ObjectStorage against a scripted HTTP server that answers with S3 error responses (503
 * SlowDown, 500, 403, 404, 412) before or instead of success: the error mapping and the retries
 * over real HTTP, on a fake clock.
 */
class S3ErrorHandlingTest {

    private record Reply(int status, String code, String body) {
    }

    // One server and one client for the class: closing a Netty client waits out a ~2 s quiet period.
    private static HttpServer server;
    private static final Deque<Reply> script = new ArrayDeque<>(); // guarded by: itself
    private static final List<String> seen = Collections.synchronizedList(new ArrayList<>());
    private static S3Options options;
    private static S3AsyncClient client;
    private final ImmediateScheduler scheduler = new ImmediateScheduler();
    private S3ObjectStorage storage; // per test, so its metrics start at zero

    @BeforeAll
    static void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", S3ErrorHandlingTest::handle);
        server.start();
        options = S3Options.builder("bucket").endpoint(URI.create("http://127.0.0.1:" + server.getAddress().getPort()))
                .pathStyle(true).credentials(StaticCredentialsProvider.create(AwsBasicCredentials.create("a", "s")))
                .retryPolicy(RetryPolicy.builder().maxAttempts(4).build()).build();
        client = S3ObjectStorage.buildClient(options);
    }

    @AfterAll
    static void stopServer() {
        client.close();
        server.stop(0);
    }

    @BeforeEach
    void newStorage() {
        partGate = null;
        synchronized (script) {
            script.clear();
        }
        seen.clear();
        storage = S3ObjectStorage.create(client, options,
                new Retrier(options.retryPolicy(), scheduler, scheduler::nanoTime, new SplittableRandom(1)));
    }

    @AfterEach
    void closeStorage() {
        storage.close();
    }

    private static void script(Reply... replies) {
        synchronized (script) {
            Collections.addAll(script, replies);
        }
    }

    /** When set, part uploads wait for it before answering (to observe backpressure). */
    private static volatile java.util.concurrent.CountDownLatch partGate;

    private static void handle(HttpExchange exchange) throws IOException {
        try (InputStream in = exchange.getRequestBody()) {
            in.readAllBytes();
        }
        java.util.concurrent.CountDownLatch gate = partGate;
        String q = exchange.getRequestURI().getQuery();
        if (gate != null && "PUT".equals(exchange.getRequestMethod()) && q != null && q.contains("uploadId")) {
            try {
                gate.await(30, java.util.concurrent.TimeUnit.SECONDS); // bounded: never hang the build
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        String query = exchange.getRequestURI().getQuery();
        seen.add(exchange.getRequestMethod() + " " + exchange.getRequestURI().getPath()
                + (query != null && query.contains("uploadId") ? "?uploadId" : query != null && query.contains("uploads") ? "?uploads" : ""));
        Reply reply;
        synchronized (script) {
            reply = script.isEmpty() ? new Reply(500, "InternalError", null) : script.poll();
        }
        byte[] body;
        if (reply.status() < 300) {
            body = reply.body() == null ? new byte[0] : reply.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("ETag", "\"etag-1\"");
        } else {
            body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + reply.code()
                    + "</Code><Message>scripted</Message><RequestId>r</RequestId></Error>").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/xml");
        }
        exchange.sendResponseHeaders(reply.status(), body.length == 0 ? -1 : body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    private static Throwable failure(CompletableFuture<?> f) {
        try {
            f.join();
        } catch (CompletionException e) {
            return e.getCause();
        }
        throw new AssertionError("expected failure");
    }

    private static Reply ok(String body) {
        return new Reply(200, null, body);
    }

    private static Reply error(int status, String code) {
        return new Reply(status, code, null);
    }

    @Test
    void getIsRetriedAfterSlowDownAndCountsThrottles() {
        script(error(503, "SlowDown"), error(503, "SlowDown"), ok("hello"));
        ObjectData d = storage.get("k", ByteRange.all()).join();
        try {
            assertThat(d.content().toString(StandardCharsets.UTF_8)).isEqualTo("hello");
        } finally {
            d.release();
        }
        assertThat(seen).hasSize(3);
        assertThat(storage.metrics().stats(Operation.GET).requests()).isEqualTo(3);
        assertThat(storage.metrics().stats(Operation.GET).throttles()).isEqualTo(2);
        assertThat(scheduler.delays()).hasSize(2);
    }

    @Test
    void internalErrorsAreRetriedAsTransient() {
        script(error(500, "InternalError"), error(503, "ServiceUnavailable"), ok("x"));
        storage.get("k", ByteRange.all()).join().release();
        assertThat(seen).hasSize(3);
        assertThat(storage.metrics().stats(Operation.GET).errors()).isEqualTo(2);
    }

    /** A full disk on an S3-compatible server (507, MinIO's XMinioStorageFull) is retriable, as a full local disk. */
    @Test
    void aServerWhoseDiskIsFullFailsRetriableAndIsRetried() {
        script(error(507, "XMinioStorageFull"), error(507, "InsufficientStorage"), ok(null));
        storage.put("k", Unpooled.wrappedBuffer(new byte[10])).join();
        assertThat(seen).hasSize(3);
        script(error(507, "InsufficientStorage"), error(507, "InsufficientStorage"), error(507, "InsufficientStorage"),
                error(507, "InsufficientStorage"));
        Throwable e = failure(storage.put("k", Unpooled.wrappedBuffer(new byte[10])));
        assertThat(((ObjectStorageException) e).kind()).isEqualTo(Kind.TRANSIENT);
        assertThat(((ObjectStorageException) e).isRetriable()).isTrue();
        assertThat(((ObjectStorageException) e).httpStatus()).isEqualTo(507);
    }

    @Test
    void persistentThrottlingFailsAfterMaxAttemptsAsRetriableThrottled() {
        script(error(503, "SlowDown"), error(503, "SlowDown"), error(503, "SlowDown"), error(503, "SlowDown"), ok("late"));
        Throwable e = failure(storage.get("k", ByteRange.all()));
        assertThat(e).isInstanceOf(ObjectStorageException.class);
        assertThat(((ObjectStorageException) e).kind()).isEqualTo(Kind.THROTTLED);
        assertThat(((ObjectStorageException) e).httpStatus()).isEqualTo(503);
        assertThat(((ObjectStorageException) e).isRetriable()).isTrue();
        assertThat(seen).hasSize(4);
    }

    @Test
    void accessDeniedIsPermanentAndNotRetried() {
        script(error(403, "AccessDenied"));
        Throwable e = failure(storage.get("k", ByteRange.all()));
        assertThat(((ObjectStorageException) e).kind()).isEqualTo(Kind.PERMANENT);
        assertThat(e.getMessage()).contains("AccessDenied").contains("key=k");
        assertThat(seen).hasSize(1);
    }

    @Test
    void noSuchKeyIsNotFound() {
        script(error(404, "NoSuchKey"));
        assertThat(failure(storage.get("k", ByteRange.all()))).isInstanceOf(ObjectNotFoundException.class);
        assertThat(seen).hasSize(1);
    }

    @Test
    void preconditionFailedOnConditionalPutIsTypedAndNotRetried() {
        script(error(412, "PreconditionFailed"));
        assertThat(failure(storage.put("k", Unpooled.wrappedBuffer(new byte[10]), PutCondition.ifAbsent())))
                .isInstanceOf(PreconditionFailedException.class);
        assertThat(seen).containsExactly("PUT /bucket/k");
    }

    @Test
    void conditionalPutIsNotRetriedOnServerErrorButIsWhenThrottled() {
        script(error(500, "InternalError"));
        assertThat(((ObjectStorageException) failure(storage.put("k", Unpooled.wrappedBuffer(new byte[10]),
                PutCondition.ifAbsent()))).kind()).isEqualTo(Kind.TRANSIENT);
        assertThat(seen).hasSize(1);
        script(error(503, "SlowDown"), ok(null));
        storage.put("k", Unpooled.wrappedBuffer(new byte[10]), PutCondition.ifAbsent()).join();
        assertThat(seen).hasSize(3);
    }

    @Test
    void unconditionalPutIsRetriedOnServerErrorsWithTheSameBody() {
        script(error(500, "InternalError"), ok(null));
        storage.put("k", Unpooled.wrappedBuffer("body".getBytes(StandardCharsets.UTF_8))).join();
        assertThat(seen).containsExactly("PUT /bucket/k", "PUT /bucket/k");
        assertThat(storage.metrics().stats(Operation.PUT).bytes()).isEqualTo(4);
    }

    @Test
    void connectionRefusedIsTransientAndRetried() throws IOException {
        int closedPort;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            closedPort = socket.getLocalPort();
        }
        S3Options refused = S3Options.builder("bucket").endpoint(URI.create("http://127.0.0.1:" + closedPort))
                .pathStyle(true).credentials(StaticCredentialsProvider.create(AwsBasicCredentials.create("a", "s")))
                .retryPolicy(RetryPolicy.builder().maxAttempts(2).build()).build();
        try (S3AsyncClient refusedClient = S3ObjectStorage.buildClient(refused);
             S3ObjectStorage s = S3ObjectStorage.create(refusedClient, refused,
                     new Retrier(refused.retryPolicy(), scheduler, scheduler::nanoTime, new SplittableRandom(1)))) {
            Throwable e = failure(s.head("k"));
            assertThat(((ObjectStorageException) e).kind()).isEqualTo(Kind.TRANSIENT);
            assertThat(s.metrics().stats(Operation.HEAD).requests()).isEqualTo(2);
        }
    }

    @Test
    void aFailedPartAbortsTheMultipartUploadAndFailsCompletion() {
        String init = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><InitiateMultipartUploadResult"
                + " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>bucket</Bucket><Key>k</Key>"
                + "<UploadId>up-1</UploadId></InitiateMultipartUploadResult>";
        script(ok(init), error(403, "AccessDenied"), new Reply(204, null, null));
        S3Options small = S3Options.builder("bucket").endpoint(options.endpoint()).pathStyle(true)
                .credentials(options.credentials()).partSizeBytes(S3Options.MIN_PART_SIZE_BYTES).build();
        try (S3ObjectStorage s = S3ObjectStorage.create(client, small,
                new Retrier(small.retryPolicy(), scheduler, scheduler::nanoTime, new SplittableRandom(1)))) {
            dev.strata.objectstore.ObjectUpload up = s.startUpload("k", PutCondition.none());
            up.write(Unpooled.wrappedBuffer(new byte[S3Options.MIN_PART_SIZE_BYTES]));
            Throwable e = failure(up.complete());
            assertThat(((ObjectStorageException) e).kind()).isEqualTo(Kind.PERMANENT);
            assertThat(((ObjectStorageException) e).operation()).isEqualTo(Operation.MULTIPART_UPLOAD_PART);
            assertThat(seen).containsExactly("POST /bucket/k?uploads", "PUT /bucket/k?uploadId", "DELETE /bucket/k?uploadId");
            assertThat(s.metrics().stats(Operation.MULTIPART_ABORT).requests()).isEqualTo(1);
        }
    }

    @Test
    void writeWaitsWhileMaxPartsAreInFlightAndCompleteSendsTheRest() {
        String init = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><InitiateMultipartUploadResult"
                + " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>bucket</Bucket><Key>k</Key>"
                + "<UploadId>up-2</UploadId></InitiateMultipartUploadResult>";
        String done = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUploadResult"
                + " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>bucket</Bucket><Key>k</Key>"
                + "<ETag>\"final-2\"</ETag></CompleteMultipartUploadResult>";
        script(ok(init), ok(null), ok(null), ok(done));
        java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
        partGate = gate;
        S3Options small = S3Options.builder("bucket").endpoint(options.endpoint()).pathStyle(true)
                .credentials(options.credentials()).partSizeBytes(S3Options.MIN_PART_SIZE_BYTES).maxPartsInFlight(1)
                .build();
        try (S3ObjectStorage s = S3ObjectStorage.create(client, small,
                new Retrier(small.retryPolicy(), scheduler, scheduler::nanoTime, new SplittableRandom(1)))) {
            dev.strata.objectstore.ObjectUpload up = s.startUpload("k", PutCondition.none());
            CompletableFuture<Void> first = up.write(Unpooled.wrappedBuffer(new byte[S3Options.MIN_PART_SIZE_BYTES]));
            assertThat(first).isNotDone(); // one part in flight = the limit; the server holds it
            gate.countDown();
            first.join();
            up.write(Unpooled.wrappedBuffer(new byte[100])).join(); // stays pending: below a part
            dev.strata.objectstore.ObjectInfo info = up.complete().join();
            assertThat(info.etag()).isEqualTo("\"final-2\"");
            assertThat(info.size()).isEqualTo(S3Options.MIN_PART_SIZE_BYTES + 100);
            assertThat(seen).containsExactly("POST /bucket/k?uploads", "PUT /bucket/k?uploadId", "PUT /bucket/k?uploadId",
                    "POST /bucket/k?uploadId");
            assertThat(s.metrics().stats(Operation.MULTIPART_UPLOAD_PART).bytes())
                    .isEqualTo(S3Options.MIN_PART_SIZE_BYTES + 100);
        }
    }
}
