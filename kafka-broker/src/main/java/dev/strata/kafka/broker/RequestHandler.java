package dev.strata.kafka.broker;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.message.ProduceResponseData;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.SendBuilder;
import org.apache.kafka.common.requests.AbstractRequest;
import org.apache.kafka.common.requests.ProduceRequest;
import org.apache.kafka.common.requests.RequestHeader;
import org.apache.kafka.common.requests.ResponseHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's requests: parses each frame (the 4-byte size is already stripped) with
 * kafka-clients' {@link RequestHeader} and {@link AbstractRequest#parseRequest}, hands it to
 * {@link KafkaApis}, and writes the responses <b>in request order</b>, as the protocol requires,
 * although they may complete out of order.
 *
 * <h2>Concurrency</h2>
 * One instance per connection; its state is touched only on the connection's event loop
 * (completions hop back to it). At most {@link #MAX_IN_FLIGHT} requests are in flight per
 * connection: beyond that the connection stops reading until responses are written (backpressure
 * on a client that pipelines without bound).
 *
 * <h2>Throttling (KIP-219)</h2>
 * A Fetch or Produce response with a {@code throttle_time_ms} (a tenant's quota, {@link BrokerQuotas})
 * is written at once if the request's version lets the client wait out the throttle time itself
 * (Fetch v8+, Produce v6+: kafka-clients' {@code shouldClientThrottle}), and the connection is then
 * <b>muted</b> for that time, as Kafka's socket server does: no further request is read from it
 * (frames already received are kept, unparsed, and served in order afterwards), so a client that does
 * not wait gets nothing sooner. An older version's response is instead written only once the throttle
 * time has passed since it completed (the responses behind it wait with it, in order). An
 * {@code acks=0} Produce, which gets no response, mutes the connection.
 *
 * <h2>Failure</h2>
 * A frame whose header cannot be parsed, an API or version this broker does not serve (other than
 * ApiVersions, which answers UNSUPPORTED_VERSION with the versions it serves, so the client can
 * pick one), or a body that cannot be parsed closes the connection, as Kafka does. A handler that
 * fails unexpectedly answers the request's own error response (UNKNOWN_SERVER_ERROR).
 *
 * <h2>Buffers</h2>
 * The frame is copied to the heap and released by {@link SimpleChannelInboundHandler}; parsed
 * requests (Produce's records too) refer to that heap copy. A response's fields are serialized to a
 * heap buffer; its records are not copied: they are written from their own buffers
 * ({@link SendBuffers}). A response body that is {@link AutoCloseable} (a Fetch response, whose
 * records are views of Strata's fetch buffers: {@link FetchHandler.HeldFetchResponse}) is closed once
 * Netty has written it to the socket, or failed to (a closed connection).
 */
final class RequestHandler extends SimpleChannelInboundHandler<ByteBuf> {
    private static final Logger LOG = LoggerFactory.getLogger(RequestHandler.class);

    /** Requests a connection may have in flight before the broker stops reading from it. */
    static final int MAX_IN_FLIGHT = 100;

    /** A request awaiting its response; {@code version} is the response's (0 for an unsupported ApiVersions). */
    private static final class InFlight {
        final RequestHeader header;
        final AbstractRequest request;
        final short version;
        final CompletableFuture<ApiMessage> response;
        /** When {@code response} completed ({@link System#nanoTime()}); set by the completing thread. */
        volatile long completedAtNanos;
        // event loop only:
        boolean resolved;
        ApiMessage body;

        InFlight(RequestHeader header, AbstractRequest request, short version, CompletableFuture<ApiMessage> response) {
            this.header = header;
            this.request = request;
            this.version = version;
            this.response = response;
        }
    }

    private final KafkaApis apis;
    // event loop only:
    private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
    /** Frames read while the connection is muted, served in order once it is not. */
    private final ArrayDeque<ByteBuffer> deferred = new ArrayDeque<>();
    /** Until when the connection is muted for a throttle time ({@link System#nanoTime()}); 0: not muted. */
    private long mutedUntilNanos;
    private ScheduledFuture<?> unmute;
    private ScheduledFuture<?> delayedWrite;
    private boolean inactive;
    private boolean servingDeferred;

    RequestHandler(KafkaApis apis) {
        this.apis = apis;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
        ByteBuffer buffer = ByteBuffer.allocate(frame.readableBytes());
        frame.readBytes(buffer);
        buffer.flip();
        if (muted(System.nanoTime()) || !deferred.isEmpty()) {
            deferred.add(buffer); // Kafka's muted channel: read no further request until the throttle time passed
            updateAutoRead(ctx);
            return;
        }
        serve(ctx, buffer);
    }

    /** Parses one request and starts it. */
    private void serve(ChannelHandlerContext ctx, ByteBuffer buffer) {
        RequestHeader header;
        AbstractRequest request;
        try {
            header = RequestHeader.parse(buffer);
            ApiKeys api = header.apiKey();
            if (!KafkaApis.supports(api, header.apiVersion())) {
                if (api == ApiKeys.API_VERSIONS) { // Kafka's answer: v0, UNSUPPORTED_VERSION, the served versions
                    InFlight answer = new InFlight(header, null, (short) 0,
                            CompletableFuture.completedFuture(KafkaApis.apiVersions(Errors.UNSUPPORTED_VERSION)));
                    answer.completedAtNanos = System.nanoTime();
                    inFlight.add(answer);
                    writeCompleted(ctx);
                    return;
                }
                throw new InvalidRequestException("unsupported API " + api + " version " + header.apiVersion());
            }
            request = AbstractRequest.parseRequest(api, header.apiVersion(), new ByteBufferAccessor(buffer)).request;
        } catch (RuntimeException e) {
            LOG.info("closing connection from {}: cannot serve its request: {}", ctx.channel().remoteAddress(), e.toString());
            ctx.close();
            return;
        }
        CompletableFuture<ApiMessage> response;
        try {
            response = apis.handle(request, header.clientId(), (InetSocketAddress) ctx.channel().localAddress(),
                    (InetSocketAddress) ctx.channel().remoteAddress());
        } catch (RuntimeException e) {
            response = CompletableFuture.failedFuture(e);
        }
        InFlight started = new InFlight(header, request, header.apiVersion(), response);
        inFlight.add(started);
        updateAutoRead(ctx);
        response.whenComplete((r, e) -> {
            started.completedAtNanos = System.nanoTime();
            ctx.executor().execute(() -> writeCompleted(ctx));
        });
    }

    /**
     * Writes the responses at the head of the queue that are complete, in request order, and applies
     * their throttle times: a response the client throttles itself for (KIP-219) is written at once
     * and mutes the connection; an older version's is written once its throttle time has passed
     * since it completed (the responses behind it wait, in order).
     */
    private void writeCompleted(ChannelHandlerContext ctx) {
        boolean wrote = false;
        long now = System.nanoTime();
        while (!inFlight.isEmpty() && inFlight.peek().response.isDone()) {
            InFlight done = inFlight.peek();
            if (done.completedAtNanos == 0) { // done, but its whenComplete has not run yet
                done.completedAtNanos = now;
            }
            ApiMessage body = resolve(done);
            int throttleMs = throttleTimeMs(body);
            boolean answered = body != null && !(done.request instanceof ProduceRequest p && p.acks() == 0);
            boolean clientThrottles = BrokerQuotas.clientThrottles(done.header.apiKey(), done.version);
            if (throttleMs > 0 && answered && !clientThrottles && !inactive) {
                long due = done.completedAtNanos + TimeUnit.MILLISECONDS.toNanos(throttleMs);
                if (now - due < 0) { // an old client: its response is delayed by the throttle time
                    scheduleWrite(ctx, due - now);
                    break;
                }
            }
            inFlight.poll();
            if (answered) {
                write(ctx, done.header, done.version, body);
                wrote = true;
            }
            if (throttleMs > 0 && (clientThrottles || !answered)) {
                mute(ctx, now + TimeUnit.MILLISECONDS.toNanos(throttleMs));
            }
        }
        if (wrote) {
            ctx.flush();
        }
        serveDeferred(ctx);
    }

    /** The response body of a completed request: the handler's, or its request's error response if it failed. */
    private static ApiMessage resolve(InFlight done) {
        if (!done.resolved) {
            done.resolved = true;
            try {
                done.body = done.response.join();
            } catch (RuntimeException e) {
                Throwable cause = BrokerErrors.unwrap(e);
                LOG.warn("request {} failed unexpectedly", done.header, cause);
                done.body = done.request.getErrorResponse(0, cause).data();
            }
        }
        return done.body;
    }

    /** The {@code throttle_time_ms} of a Fetch or Produce response; 0 for others. */
    private static int throttleTimeMs(ApiMessage body) {
        if (body instanceof FetchResponseData fetch) {
            return fetch.throttleTimeMs();
        }
        if (body instanceof ProduceResponseData produce) {
            return produce.throttleTimeMs();
        }
        return 0;
    }

    private void scheduleWrite(ChannelHandlerContext ctx, long delayNanos) {
        if (delayedWrite == null) {
            delayedWrite = ctx.executor().schedule(() -> {
                delayedWrite = null;
                writeCompleted(ctx);
            }, delayNanos, TimeUnit.NANOSECONDS);
        }
    }

    private boolean muted(long now) {
        return mutedUntilNanos != 0 && now - mutedUntilNanos < 0;
    }

    /** Reads no further request from the connection until {@code untilNanos} (Kafka's muted channel). */
    private void mute(ChannelHandlerContext ctx, long untilNanos) {
        if (muted(untilNanos - 1) && unmute != null) {
            return; // muted at least that long already
        }
        mutedUntilNanos = untilNanos;
        if (unmute != null) {
            unmute.cancel(false);
        }
        unmute = ctx.executor().schedule(() -> {
            unmute = null;
            serveDeferred(ctx);
        }, untilNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        updateAutoRead(ctx);
    }

    /** Serves the frames read while muted, in order, while the connection is neither muted nor full. */
    private void serveDeferred(ChannelHandlerContext ctx) {
        if (servingDeferred) {
            return; // a request served below wrote its answer at once: the loop below goes on
        }
        servingDeferred = true;
        try {
            while (!deferred.isEmpty() && !muted(System.nanoTime()) && inFlight.size() < MAX_IN_FLIGHT && !inactive) {
                serve(ctx, deferred.poll());
            }
        } finally {
            servingDeferred = false;
        }
        updateAutoRead(ctx);
    }

    /** Reads from the socket only while not muted, nothing is deferred and fewer than {@link #MAX_IN_FLIGHT} are in flight. */
    private void updateAutoRead(ChannelHandlerContext ctx) {
        boolean read = !muted(System.nanoTime()) && deferred.isEmpty() && inFlight.size() < MAX_IN_FLIGHT;
        if (ctx.channel().config().isAutoRead() != read) {
            ctx.channel().config().setAutoRead(read);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        inactive = true; // nothing is delayed any more: the writes fail at once and release what they hold
        deferred.clear();
        if (unmute != null) {
            unmute.cancel(false);
        }
        if (delayedWrite != null) {
            delayedWrite.cancel(false);
            delayedWrite = null;
        }
        writeCompleted(ctx);
        super.channelInactive(ctx);
    }

    /**
     * Writes one response: kafka-clients' {@link SendBuilder} serializes its fields and keeps its
     * records' buffers as they are; {@link SendBuffers} wraps them without copying. A response that
     * holds buffers (a Fetch response's reads) is closed once Netty has written it, or failed to.
     */
    private static void write(ChannelHandlerContext ctx, RequestHeader header, short version, ApiMessage body) {
        AutoCloseable held = body instanceof AutoCloseable c ? c : null;
        ByteBuf bytes;
        try {
            ResponseHeader responseHeader = header.toResponseHeader();
            bytes = SendBuffers.of(SendBuilder.buildResponseSend(responseHeader, body, version));
            int size = bytes.readInt(); // SendBuilder's size prefix: LengthFieldPrepender writes it
            if (size != bytes.readableBytes()) {
                bytes.release();
                throw new IllegalStateException("response size prefix " + size + " but " + bytes.readableBytes() + " bytes");
            }
        } catch (RuntimeException | Error e) {
            if (held != null) {
                closeQuietly(held);
            }
            throw e;
        }
        ChannelFuture written = ctx.write(bytes);
        if (held != null) {
            written.addListener(f -> closeQuietly(held));
        }
    }

    private static void closeQuietly(AutoCloseable held) {
        try {
            held.close();
        } catch (Exception e) {
            LOG.warn("releasing a response's buffers failed", e);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // TooLongFrameException (request above the size limit), CorruptedFrameException (negative size), I/O errors
        LOG.info("closing connection from {}: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }
}
