package dev.strata.objectstore.s3;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.async.SdkPublisher;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/**
 * Streams a GET response body into one pooled direct {@link ByteBuf} sized from Content-Length:
 * one copy from the network buffers, instead of the SDK's byte-array accumulation (which grows and
 * copies again), and off-heap like the rest of Strata's read path.
 *
 * <p>One instance per attempt. Buffer ownership: the buffer belongs to this transformer until the
 * future completes with it; on any failure it is released exactly once, by the subscriber's
 * {@code onError} or by {@link #exceptionOccurred} (the SDK may report a connection closed mid-body
 * only there), whichever takes it first; a result that arrives after the future already failed is
 * released.
 */
final class ByteBufResponseTransformer
        implements AsyncResponseTransformer<GetObjectResponse, ByteBufResponseTransformer.Result> {

    /** The response and its body; the caller owns {@code content}. */
    record Result(GetObjectResponse response, ByteBuf content) {
    }

    private final ByteBufAllocator allocator;
    private volatile CompletableFuture<Result> future;
    private volatile GetObjectResponse response;
    private final Object lock = new Object();
    /**
     * The body being received, until it is handed over or released. A failure the
     * SDK reports through {@link #exceptionOccurred} (e.g. the connection closed mid-body) may come
     * without a signal to the subscriber, so whichever comes first releases it.
     */
    @GuardedBy("lock")
    private ByteBuf body;

    ByteBufResponseTransformer(ByteBufAllocator allocator) {
        this.allocator = allocator;
    }

    @Override
    public CompletableFuture<Result> prepare() {
        future = new CompletableFuture<>();
        return future;
    }

    @Override
    public void onResponse(GetObjectResponse r) {
        this.response = r;
    }

    @Override
    public void onStream(SdkPublisher<ByteBuffer> publisher) {
        Long length = response.contentLength();
        ByteBuf buf = length != null && length > 0 && length < Integer.MAX_VALUE - 8
                ? allocator.directBuffer(length.intValue())
                : allocator.directBuffer();
        synchronized (lock) {
            body = buf;
        }
        publisher.subscribe(new Subscriber<ByteBuffer>() {
            @Override
            public void onSubscribe(Subscription s) {
                s.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(ByteBuffer b) {
                synchronized (lock) {
                    if (body == buf) {
                        buf.writeBytes(b);
                    }
                }
            }

            @Override
            public void onError(Throwable t) {
                if (take(buf)) {
                    buf.release();
                    future.completeExceptionally(t);
                }
            }

            @Override
            public void onComplete() {
                if (take(buf) && !future.complete(new Result(response, buf))) {
                    buf.release(); // the attempt already failed (e.g. timed out)
                }
            }
        });
    }

    /** Whether {@code buf} was still being received; from now on the caller owns it. */
    private boolean take(ByteBuf buf) {
        synchronized (lock) {
            if (body != buf) {
                return false;
            }
            body = null;
            return true;
        }
    }

    @Override
    public void exceptionOccurred(Throwable error) {
        ByteBuf unfinished;
        synchronized (lock) {
            unfinished = body;
            body = null;
        }
        if (unfinished != null) {
            unfinished.release();
        }
        CompletableFuture<Result> f = future;
        if (f != null) {
            f.completeExceptionally(error);
        }
    }
}
