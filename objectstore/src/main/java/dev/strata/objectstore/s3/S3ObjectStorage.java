package dev.strata.objectstore.s3;

import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.IncompleteUpload;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectKeys;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.ObjectStorageMetrics;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.PutCondition;
import dev.strata.objectstore.Retrier;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3AsyncClientBuilder;
import software.amazon.awssdk.services.s3.model.Delete;
import software.amazon.awssdk.services.s3.model.DeleteObjectsResponse;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.ListMultipartUploadsResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Error;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * {@link ObjectStorage} on S3 or an S3-compatible server, through the AWS SDK v2 async client with
 * the Netty NIO HTTP client.
 *
 * <pre>
 * Client settings (see S3Options):
 *   endpoint override + path-style for S3-compatible servers; region; static credentials or the
 *   SDK default provider chain; request checksums and response validation only WHEN_REQUIRED
 *   (the defaults since SDK 2.30 send aws-chunked CRC trailers that many S3-compatible servers
 *   reject); the SDK's own retries OFF (doNotRetry) because this class retries, see below.
 *
 * Server-side encryption (S3Options.serverSideEncryption, see ServerSideEncryption):
 *   PutObject and CreateMultipartUpload carry the mode's headers; with SSE-C, UploadPart,
 *   CompleteMultipartUpload, GetObject and HeadObject carry the customer key too. A server that
 *   does not implement the requested mode answers 501 NotImplemented (or 400): a PERMANENT
 *   failure naming the operation, never retried.
 *
 * Retries:
 *   Every request runs under a Retrier (exponential backoff with jitter, bounded by attempts and
 *   total time). Idempotent requests (GET, HEAD, LIST, DELETE, unconditional PUT, UploadPart,
 *   Create/Abort multipart) are retried on THROTTLED and TRANSIENT failures; conditional writes only
 *   on THROTTLED, where S3 rejected the request before applying it.
 *
 * Concurrency and backpressure:
 *   Thread-safe. In-flight HTTP requests are bounded by the Netty pool (maxConcurrentRequests);
 *   requests beyond it wait for a connection, at most maxPendingRequests of them, beyond which
 *   they fail as THROTTLED. A streaming upload keeps at most maxPartsInFlight parts in flight.
 *
 * Metrics:
 *   Every attempt is recorded in metrics() under its Operation: one per billed request.
 *
 * Failure:
 *   Futures fail with ObjectStorageException (see S3Errors for the mapping). A failed multipart
 *   upload is aborted so no parts are left behind (best effort). Uploads abandoned by a killed
 *   process are found by listIncompleteUploads and aborted by abortIncompleteUploads (the
 *   engine's compactor does so for those older than its orphan TTL); a bucket lifecycle rule for
 *   incomplete uploads is still a good second line.
 * </pre>
 */
public final class S3ObjectStorage implements ObjectStorage {
    private static final Logger LOG = LoggerFactory.getLogger(S3ObjectStorage.class);

    private final S3AsyncClient client;
    private final boolean ownsClient;
    private final S3Options options;
    private final Retrier retrier;
    private final ScheduledExecutorService ownedScheduler; // null if the retrier was given
    private final ByteBufAllocator allocator;
    private final ObjectStorageMetrics metrics = new ObjectStorageMetrics();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Upload ids of this instance's multipart uploads in progress: never reported as incomplete. */
    private final Set<String> activeUploads = ConcurrentHashMap.newKeySet();

    private S3ObjectStorage(S3AsyncClient client, boolean ownsClient, S3Options options, Retrier retrier,
                            ScheduledExecutorService ownedScheduler, ByteBufAllocator allocator) {
        this.client = client;
        this.ownsClient = ownsClient;
        this.options = options;
        this.retrier = retrier;
        this.ownedScheduler = ownedScheduler;
        this.allocator = allocator;
    }

    /** A storage with its own client and retry thread, both closed by {@link #close()}. */
    public static S3ObjectStorage create(S3Options options) {
        return create(options, List.of());
    }

    /**
     * As {@link #create(S3Options)}, with SDK interceptors added to the client; for tests that
     * observe the HTTP requests sent (headers), not for production use.
     */
    static S3ObjectStorage create(S3Options options, List<ExecutionInterceptor> interceptors) {
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "strata-objectstore-retry");
            t.setDaemon(true);
            return t;
        });
        Retrier retrier = new Retrier(options.retryPolicy(),
                (task, delayNanos) -> scheduler.schedule(task, delayNanos, TimeUnit.NANOSECONDS),
                System::nanoTime, new SplittableRandom());
        return new S3ObjectStorage(buildClient(options, interceptors), true, options, retrier, scheduler,
                PooledByteBufAllocator.DEFAULT);
    }

    /**
     * A storage on a given client (not closed by {@link #close()}) and retrier; for tests (an
     * injected clock and scheduler) and for sharing one client.
     */
    public static S3ObjectStorage create(S3AsyncClient client, S3Options options, Retrier retrier) {
        return new S3ObjectStorage(client, false, options, retrier, null, PooledByteBufAllocator.DEFAULT);
    }

    /** The client {@link #create(S3Options)} builds: see the class comment for the settings. */
    public static S3AsyncClient buildClient(S3Options options) {
        return buildClient(options, List.of());
    }

    /** As {@link #buildClient(S3Options)}, with SDK interceptors (tests observe the requests through them). */
    static S3AsyncClient buildClient(S3Options options, List<ExecutionInterceptor> interceptors) {
        S3AsyncClientBuilder b = S3AsyncClient.builder()
                .region(Region.of(options.region()))
                .credentialsProvider(options.credentials() != null ? options.credentials()
                        : DefaultCredentialsProvider.builder().build())
                .forcePathStyle(options.pathStyle())
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .httpClientBuilder(NettyNioAsyncHttpClient.builder()
                        .maxConcurrency(options.maxConcurrentRequests())
                        .maxPendingConnectionAcquires(options.maxPendingRequests())
                        .connectionTimeout(options.connectTimeout()))
                .overrideConfiguration(o -> o
                        .retryStrategy(AwsRetryStrategy.doNotRetry())
                        .apiCallAttemptTimeout(options.attemptTimeout())
                        .executionInterceptors(List.copyOf(interceptors)));
        if (options.endpoint() != null) {
            b.endpointOverride(options.endpoint());
        }
        return b.build();
    }

    public S3Options options() {
        return options;
    }

    String s3Key(String key) {
        return options.prefix() + ObjectKeys.validate(key);
    }

    S3AsyncClient client() {
        return client;
    }

    Retrier retrier() {
        return retrier;
    }

    ByteBufAllocator allocator() {
        return allocator;
    }

    /**
     * One attempt of one request: issues it, records it in the metrics and translates its failure.
     * {@code bytes} is the request body size (writes) or -1 to take it from the result (reads).
     */
    <T> CompletableFuture<T> attempt(Operation op, String key, long bytes, Supplier<CompletableFuture<T>> request,
                                     java.util.function.ToLongFunction<T> responseBytes) {
        if (closed.get()) {
            return CompletableFuture.failedFuture(ObjectStorageException.of(ObjectStorageException.Kind.PERMANENT,
                    op, key, 0, "storage is closed", null));
        }
        long start = System.nanoTime();
        CompletableFuture<T> f;
        try {
            f = request.get();
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        return f.handle((value, error) -> {
            long elapsed = System.nanoTime() - start;
            if (error != null) {
                ObjectStorageException e = S3Errors.translate(op, key, error);
                metrics.record(op, 0, elapsed, e.kind());
                throw new CompletionException(e);
            }
            metrics.record(op, bytes >= 0 ? bytes : responseBytes.applyAsLong(value), elapsed, null);
            return value;
        });
    }

    /** Runs {@code request} under the retrier, one {@link #attempt} per try. */
    <T> CompletableFuture<T> call(Operation op, String key, boolean idempotent, long bytes,
                                  Supplier<CompletableFuture<T>> request) {
        if (closed.get()) {
            return CompletableFuture.failedFuture(ObjectStorageException.of(ObjectStorageException.Kind.PERMANENT,
                    op, key, 0, "storage is closed", null));
        }
        return retrier.run(op, key, idempotent, () -> attempt(op, key, bytes, request, v -> 0));
    }

    @Override
    public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
        String s3Key;
        try {
            s3Key = s3Key(key);
        } catch (RuntimeException e) {
            data.release();
            throw e;
        }
        long size = data.readableBytes();
        PutObjectRequest.Builder req = PutObjectRequest.builder().bucket(options.bucket()).key(s3Key)
                .contentLength(size);
        if (condition.isIfAbsent()) {
            req.ifNoneMatch("*");
        } else if (condition.matchEtag() != null) {
            req.ifMatch(condition.matchEtag());
        }
        options.serverSideEncryption().applyTo(req);
        PutObjectRequest request = req.build();
        // A fresh body per attempt: nioBuffers() returns new views, so a retry re-reads from the start.
        return Retrier.unwrapped(call(Operation.PUT, key, condition.isNone(), size,
                () -> client.putObject(request, AsyncRequestBody.fromRemainingByteBuffersUnsafe(data.nioBuffers())))
                .whenComplete((r, e) -> data.release())
                .thenApply(r -> new ObjectInfo(key, size, r.eTag())));
    }

    @Override
    public ObjectUpload startUpload(String key, PutCondition condition) {
        return new S3Upload(this, key, s3Key(key), condition, options.partSizeBytes(), options.maxPartsInFlight());
    }

    @Override
    public CompletableFuture<ObjectData> get(String key, ByteRange range) {
        String s3Key = s3Key(key);
        String header = range.toHttpHeader();
        Operation op = Operation.GET;
        if (closed.get()) {
            return CompletableFuture.failedFuture(ObjectStorageException.of(ObjectStorageException.Kind.PERMANENT,
                    op, key, 0, "storage is closed", null));
        }
        return Retrier.unwrapped(retrier.run(op, key, true, () -> attempt(op, key, -1,
                () -> client.getObject(b -> options.serverSideEncryption().applyTo(b.bucket(options.bucket()).key(s3Key)
                                .range(header)),
                        new ByteBufResponseTransformer(allocator)),
                r -> r.content().readableBytes()))
                .thenApply(r -> {
                    ByteBuf content = r.content();
                    GetObjectResponse resp = r.response();
                    long position = 0;
                    long objectSize = content.readableBytes();
                    String cr = resp.contentRange();
                    try {
                        if (cr != null) { // "bytes 100-199/1000"
                            int space = cr.indexOf(' ');
                            int dash = cr.indexOf('-', space);
                            int slash = cr.indexOf('/', dash);
                            position = Long.parseLong(cr.substring(space + 1, dash));
                            String total = cr.substring(slash + 1);
                            objectSize = total.equals("*") ? -1 : Long.parseLong(total);
                        }
                    } catch (RuntimeException e) {
                        content.release();
                        throw ObjectStorageException.of(ObjectStorageException.Kind.PERMANENT, op, key, 0,
                                "unparseable Content-Range: " + cr, e);
                    }
                    return new ObjectData(key, content, position, objectSize, resp.eTag());
                }));
    }

    @Override
    public CompletableFuture<ObjectInfo> head(String key) {
        String s3Key = s3Key(key);
        return Retrier.unwrapped(call(Operation.HEAD, key, true, 0,
                () -> client.headObject(b -> options.serverSideEncryption().applyTo(b.bucket(options.bucket()).key(s3Key))))
                .thenApply(r -> new ObjectInfo(key, r.contentLength(), r.eTag())));
    }

    @Override
    public CompletableFuture<Void> delete(Collection<String> keys) {
        List<String> all = List.copyOf(keys);
        List<ObjectIdentifier> ids = new ArrayList<>(all.size());
        for (String k : all) {
            ids.add(ObjectIdentifier.builder().key(s3Key(k)).build());
        }
        List<CompletableFuture<Void>> batches = new ArrayList<>();
        for (int from = 0; from < ids.size(); from += MAX_KEYS_PER_DELETE) {
            List<ObjectIdentifier> batch = ids.subList(from, Math.min(ids.size(), from + MAX_KEYS_PER_DELETE));
            Delete delete = Delete.builder().objects(batch).quiet(true).build();
            batches.add(call(Operation.DELETE, null, true, 0,
                    () -> client.deleteObjects(b -> b.bucket(options.bucket()).delete(delete))
                            .thenApply(this::checkDeleteErrors)));
        }
        return Retrier.unwrapped(CompletableFuture.allOf(batches.toArray(CompletableFuture[]::new)));
    }

    private Void checkDeleteErrors(DeleteObjectsResponse response) {
        if (!response.hasErrors() || response.errors().isEmpty()) {
            return null;
        }
        S3Error first = response.errors().get(0);
        ObjectStorageException.Kind kind = S3Errors.classify(0, first.code());
        throw ObjectStorageException.of(kind == ObjectStorageException.Kind.NOT_FOUND
                        ? ObjectStorageException.Kind.PERMANENT : kind, Operation.DELETE, first.key(), 0,
                "batched delete failed for " + response.errors().size() + " keys: first code=" + first.code()
                        + " message=" + first.message(), null);
    }

    @Override
    public CompletableFuture<List<ObjectInfo>> list(String prefix) {
        String s3Prefix = options.prefix() + prefix;
        List<ObjectInfo> out = new ArrayList<>();
        return Retrier.unwrapped(listPage(prefix, s3Prefix, null, out).thenApply(v -> out));
    }

    private CompletableFuture<Void> listPage(String prefix, String s3Prefix, String token, List<ObjectInfo> out) {
        return call(Operation.LIST, prefix, true, 0,
                () -> client.listObjectsV2(b -> b.bucket(options.bucket()).prefix(s3Prefix).continuationToken(token)))
                .thenCompose((ListObjectsV2Response r) -> {
                    for (S3Object o : r.contents()) {
                        out.add(new ObjectInfo(o.key().substring(options.prefix().length()), o.size(), o.eTag()));
                    }
                    if (Boolean.TRUE.equals(r.isTruncated()) && r.nextContinuationToken() != null) {
                        return listPage(prefix, s3Prefix, r.nextContinuationToken(), out);
                    }
                    return CompletableFuture.completedFuture(null);
                });
    }

    /** Called by an upload once S3 gave it an id, and once it completed or aborted. */
    void uploadStarted(String uploadId) {
        activeUploads.add(uploadId);
    }

    void uploadEnded(String uploadId) {
        activeUploads.remove(uploadId);
    }

    /**
     * Multipart uploads under this storage's prefix (ListMultipartUploads, every page, each a
     * {@link Operation#LIST} request), except this instance's uploads in progress.
     */
    @Override
    public CompletableFuture<List<IncompleteUpload>> listIncompleteUploads() {
        List<IncompleteUpload> out = new ArrayList<>();
        return Retrier.unwrapped(listUploadsPage(null, null, out).thenApply(v -> out));
    }

    private CompletableFuture<Void> listUploadsPage(String keyMarker, String uploadIdMarker, List<IncompleteUpload> out) {
        return call(Operation.LIST, null, true, 0,
                () -> client.listMultipartUploads(b -> b.bucket(options.bucket()).prefix(options.prefix())
                        .keyMarker(keyMarker).uploadIdMarker(uploadIdMarker)))
                .thenCompose((ListMultipartUploadsResponse r) -> {
                    for (MultipartUpload u : r.uploads()) {
                        // An upload whose start the store does not report cannot be aged: never listed,
                        // so never aborted.
                        if (!activeUploads.contains(u.uploadId()) && u.key().startsWith(options.prefix())
                                && u.initiated() != null) {
                            Instant started = u.initiated();
                            out.add(new IncompleteUpload(u.key().substring(options.prefix().length()), u.uploadId(),
                                    started));
                        }
                    }
                    if (Boolean.TRUE.equals(r.isTruncated()) && (r.nextKeyMarker() != null || r.nextUploadIdMarker() != null)) {
                        return listUploadsPage(r.nextKeyMarker(), r.nextUploadIdMarker(), out);
                    }
                    return CompletableFuture.completedFuture(null);
                });
    }

    /**
     * AbortMultipartUpload for each (one {@link Operation#MULTIPART_ABORT} request each, retried);
     * an upload S3 no longer knows (404 NoSuchUpload) is done already; one of this instance's
     * uploads in progress is skipped.
     */
    @Override
    public CompletableFuture<Void> abortIncompleteUploads(Collection<IncompleteUpload> uploads) {
        List<CompletableFuture<Void>> aborts = new ArrayList<>();
        for (IncompleteUpload u : List.copyOf(uploads)) {
            if (u.key() == null) {
                throw new IllegalArgumentException("an S3 incomplete upload names its key: uploadId=" + u.uploadId());
            }
            if (activeUploads.contains(u.uploadId())) {
                continue;
            }
            String s3Key = options.prefix() + u.key();
            aborts.add(call(Operation.MULTIPART_ABORT, u.key(), true, 0,
                    () -> client.abortMultipartUpload(b -> b.bucket(options.bucket()).key(s3Key).uploadId(u.uploadId())))
                    .handle((r, e) -> {
                        if (e != null && !(Retrier.unwrap(e) instanceof ObjectStorageException ose && ose.httpStatus() == 404)) {
                            throw new CompletionException(Retrier.unwrap(e));
                        }
                        return null;
                    }));
        }
        return Retrier.unwrapped(CompletableFuture.allOf(aborts.toArray(CompletableFuture[]::new)));
    }

    @Override
    public ObjectStorageMetrics metrics() {
        return metrics;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (ownedScheduler != null) {
            // Run the retries still waiting: each fails at once ("storage is closed"), so every
            // pending future completes instead of hanging.
            for (Runnable pending : ownedScheduler.shutdownNow()) {
                pending.run();
            }
        }
        if (ownsClient) {
            client.close();
        }
        LOG.debug("closed S3 storage bucket={} prefix={}", options.bucket(), options.prefix());
    }

    @Override
    public String toString() {
        return "S3ObjectStorage[" + options + "]";
    }
}
