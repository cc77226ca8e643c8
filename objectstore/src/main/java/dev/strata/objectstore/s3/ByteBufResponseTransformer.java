package dev.strata.objectstore.s3;

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
 * future completes with it; on any failure the subscriber releases it exactly once (guarded by
 * {@code settled}), and a result that arrives after the future already failed is released.
 */
final class ByteBufResponseTransformer
        implements AsyncResponseTransformer<GetObjectResponse, ByteBufResponseTransformer.Result> {

    /** The response and its body; the caller owns {@code content}. */
    record Result(GetObjectResponse response, ByteBuf content) {
    }

    private final ByteBufAllocator allocator;
    private volatile CompletableFuture<Result> future;
    private volatile GetObjectResponse response;

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
        publisher.subscribe(new Subscriber<ByteBuffer>() {
            private boolean settled; // signals are serial (Reactive Streams rule 1.3)

            @Override
            public void onSubscribe(Subscription s) {
                s.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(ByteBuffer b) {
                if (!settled) {
                    buf.writeBytes(b);
                }
            }

            @Override
            public void onError(Throwable t) {
                if (!settled) {
                    settled = true;
                    buf.release();
                    future.completeExceptionally(t);
                }
            }

            @Override
            public void onComplete() {
                if (!settled) {
                    settled = true;
                    if (!future.complete(new Result(response, buf))) {
                        buf.release(); // the attempt already failed (e.g. timed out)
                    }
                }
            }
        });
    }

    @Override
    public void exceptionOccurred(Throwable error) {
        CompletableFuture<Result> f = future;
        if (f != null) {
            f.completeExceptionally(error);
        }
    }
}
