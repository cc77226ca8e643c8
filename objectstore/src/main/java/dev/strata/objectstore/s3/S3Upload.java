package dev.strata.objectstore.s3;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectUpload;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.PutCondition;
import dev.strata.objectstore.Retrier;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/**
 * A streaming upload to S3.
 *
 * <pre>
 * Small objects: bytes gather in {@code pending} (a composite of the written buffers, no copy);
 *   if complete() is called before {@code partSize} bytes were written, they go out as one PutObject
 *   with the upload's condition. No multipart upload is ever created for them.
 * Large objects: when {@code pending} reaches {@code partSize} it becomes part N and is sent at once
 *   (CreateMultipartUpload is issued lazily before the first part). At most maxPartsInFlight parts
 *   are in flight; write()'s future completes only when fewer are, which is the backpressure.
 *   complete() sends the rest as the last part (which may be smaller than 5 MiB), waits for all parts
 *   and issues CompleteMultipartUpload carrying the condition (If-None-Match / If-Match).
 * Encryption: CreateMultipartUpload carries the server-side encryption headers; with SSE-C every
 *   UploadPart and the CompleteMultipartUpload carry the customer key as well (ServerSideEncryption).
 * Failure: the first failed part, or a failed complete, aborts the multipart upload; later calls
 *   fail with that error. Parts are retried (idempotent); a conditional complete only when throttled.
 *
 * Concurrency: one producer thread calls write/complete/abort; part completions arrive on SDK
 * threads. The mutable fields are guarded by this ({@code @GuardedBy}, checked at compile time).
 * Buffers: each part's composite is released when its request (with retries) finished.
 * </pre>
 */
final class S3Upload implements ObjectUpload {
    private static final Logger LOG = LoggerFactory.getLogger(S3Upload.class);

    private final S3ObjectStorage storage;
    private final String key;
    private final String s3Key;
    private final PutCondition condition;
    private final int partSize;
    private final int maxPartsInFlight;

    @GuardedBy("this")
    private CompositeByteBuf pending;
    @GuardedBy("this")
    private long bytesWritten;
    @GuardedBy("this")
    private CompletableFuture<String> uploadId; // null until the first part
    @GuardedBy("this")
    private final List<CompletableFuture<CompletedPart>> parts = new ArrayList<>();
    @GuardedBy("this")
    private int inFlight;
    @GuardedBy("this")
    private final ArrayDeque<CompletableFuture<Void>> waiters = new ArrayDeque<>();
    @GuardedBy("this")
    private Throwable failure;
    @GuardedBy("this")
    private boolean finished;

    S3Upload(S3ObjectStorage storage, String key, String s3Key, PutCondition condition, int partSize,
             int maxPartsInFlight) {
        this.storage = storage;
        this.key = key;
        this.s3Key = s3Key;
        this.condition = condition;
        this.partSize = partSize;
        this.maxPartsInFlight = maxPartsInFlight;
        this.pending = newComposite();
    }

    private CompositeByteBuf newComposite() {
        return storage.allocator().compositeDirectBuffer(Integer.MAX_VALUE);
    }

    @Override
    public String key() {
        return key;
    }

    @Override
    public synchronized long bytesWritten() {
        return bytesWritten;
    }

    @Override
    public CompletableFuture<Void> write(ByteBuf data) {
        synchronized (this) {
            if (finished) {
                data.release();
                throw new IllegalStateException("upload already completed or aborted: key=" + key);
            }
            if (failure != null) {
                data.release();
                return CompletableFuture.failedFuture(failure);
            }
            bytesWritten += data.readableBytes();
            pending.addComponent(true, data);
            if (pending.readableBytes() >= partSize) {
                sendPart();
            }
            if (inFlight < maxPartsInFlight) {
                return CompletableFuture.completedFuture(null);
            }
            CompletableFuture<Void> waiter = new CompletableFuture<>();
            waiters.add(waiter);
            return waiter;
        }
    }

    /** Sends {@code pending} as the next part. Caller holds the lock. */
    @GuardedBy("this")
    private void sendPart() {
        CompositeByteBuf part = pending;
        pending = newComposite();
        int partNumber = parts.size() + 1;
        if (uploadId == null) {
            uploadId = storage.call(Operation.MULTIPART_CREATE, key, true, 0,
                    () -> storage.client().createMultipartUpload(b -> storage.options().serverSideEncryption()
                            .applyTo(b.bucket(storage.options().bucket()).key(s3Key))))
                    .thenApply(r -> {
                        storage.uploadStarted(r.uploadId()); // until complete or abort: not an abandoned upload
                        return r.uploadId();
                    });
        }
        inFlight++;
        long size = part.readableBytes();
        CompletableFuture<CompletedPart> f = uploadId.thenCompose(id -> storage.call(Operation.MULTIPART_UPLOAD_PART,
                key, true, size,
                () -> storage.client().uploadPart(b -> storage.options().serverSideEncryption()
                                .applyTo(b.bucket(storage.options().bucket()).key(s3Key).uploadId(id)
                                .partNumber(partNumber).contentLength(size)),
                        AsyncRequestBody.fromRemainingByteBuffersUnsafe(part.nioBuffers()))))
                .thenApply(r -> CompletedPart.builder().partNumber(partNumber).eTag(r.eTag()).build());
        parts.add(f);
        f.whenComplete((r, e) -> {
            part.release();
            List<CompletableFuture<Void>> wake = new ArrayList<>();
            Throwable err = null;
            synchronized (this) {
                inFlight--;
                if (e != null && failure == null) {
                    failure = Retrier.unwrap(e);
                }
                err = failure;
                if (err != null) {
                    wake.addAll(waiters);
                    waiters.clear();
                } else if (!waiters.isEmpty()) {
                    wake.add(waiters.poll());
                }
            }
            for (CompletableFuture<Void> w : wake) {
                if (err != null) {
                    w.completeExceptionally(err);
                } else {
                    w.complete(null);
                }
            }
        });
    }

    @Override
    public CompletableFuture<ObjectInfo> complete() {
        CompositeByteBuf rest;
        List<CompletableFuture<CompletedPart>> sent;
        CompletableFuture<String> id;
        long size;
        synchronized (this) {
            if (finished) {
                throw new IllegalStateException("upload already completed or aborted: key=" + key);
            }
            finished = true;
            if (failure != null) {
                Throwable f = failure;
                pending.release();
                return Retrier.unwrapped(abortMultipart().thenCompose(v -> CompletableFuture.failedFuture(f)));
            }
            size = bytesWritten;
            if (uploadId == null) {
                rest = pending;
                pending = null;
                return storage.put(key, rest, condition);
            }
            if (pending.readableBytes() > 0) {
                sendPart();
            }
            pending.release();
            pending = null;
            sent = List.copyOf(parts);
            id = uploadId;
        }
        CompletableFuture<ObjectInfo> done = CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new))
                .thenCompose(v -> id)
                .thenCompose(uid -> {
                    List<CompletedPart> completed = new ArrayList<>(sent.size());
                    for (CompletableFuture<CompletedPart> p : sent) {
                        completed.add(p.join());
                    }
                    CompleteMultipartUploadRequest.Builder req = CompleteMultipartUploadRequest.builder()
                            .bucket(storage.options().bucket()).key(s3Key).uploadId(uid)
                            .multipartUpload(CompletedMultipartUpload.builder().parts(completed).build());
                    if (condition.isIfAbsent()) {
                        req.ifNoneMatch("*");
                    } else if (condition.matchEtag() != null) {
                        req.ifMatch(condition.matchEtag());
                    }
                    storage.options().serverSideEncryption().applyTo(req);
                    CompleteMultipartUploadRequest request = req.build();
                    return storage.call(Operation.MULTIPART_COMPLETE, key, condition.isNone(), 0,
                            () -> storage.client().completeMultipartUpload(request));
                })
                .thenApply(r -> new ObjectInfo(key, size, r.eTag()));
        done.whenComplete((r, e) -> {
            if (e == null) {
                storage.uploadEnded(id.join());
            }
        });
        return Retrier.unwrapped(done.handle((info, error) -> error == null
                        ? CompletableFuture.completedFuture(info)
                        : abortMultipart().thenCompose(v -> CompletableFuture.<ObjectInfo>failedFuture(Retrier.unwrap(error))))
                .thenCompose(f -> f));
    }

    /** Aborts the multipart upload, if one was started, after its parts settled. Best effort. */
    private CompletableFuture<Void> abortMultipart() {
        CompletableFuture<String> id;
        List<CompletableFuture<CompletedPart>> sent;
        synchronized (this) {
            id = uploadId;
            sent = List.copyOf(parts);
        }
        if (id == null) {
            return CompletableFuture.completedFuture(null);
        }
        return CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).handle((v, e) -> null)
                .thenCompose(v -> id)
                .thenCompose(uid -> storage.call(Operation.MULTIPART_ABORT, key, true, 0,
                        () -> storage.client().abortMultipartUpload(b -> b.bucket(storage.options().bucket())
                                .key(s3Key).uploadId(uid))).whenComplete((r, e) -> storage.uploadEnded(uid)))
                .handle((r, e) -> {
                    if (e != null) {
                        LOG.warn("could not abort multipart upload key={}: {}", key, Retrier.unwrap(e).getMessage());
                    }
                    return null;
                });
    }

    @Override
    public CompletableFuture<Void> abort() {
        synchronized (this) {
            if (finished) {
                return CompletableFuture.completedFuture(null);
            }
            finished = true;
            pending.release();
            pending = null;
            if (failure == null) {
                failure = new IllegalStateException("upload aborted: key=" + key);
            }
            for (CompletableFuture<Void> w : waiters) {
                w.completeExceptionally(failure);
            }
            waiters.clear();
        }
        return abortMultipart();
    }
}
