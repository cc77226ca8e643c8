package dev.strata.kafka.broker;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.protocol.SendBuilder;
import org.apache.kafka.common.requests.AbstractRequest;
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
 * One instance per connection; {@code inFlight} is touched only on the connection's event loop
 * (completions hop back to it). At most {@link #MAX_IN_FLIGHT} requests are in flight per
 * connection: beyond that the connection stops reading until responses are written (backpressure
 * on a client that pipelines without bound).
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
    private record InFlight(RequestHeader header, AbstractRequest request, short version,
                            CompletableFuture<ApiMessage> response) {
    }

    private final KafkaApis apis;
    private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>(); // event loop only

    RequestHandler(KafkaApis apis) {
        this.apis = apis;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
        ByteBuffer buffer = ByteBuffer.allocate(frame.readableBytes());
        frame.readBytes(buffer);
        buffer.flip();
        RequestHeader header;
        AbstractRequest request;
        try {
            header = RequestHeader.parse(buffer);
            ApiKeys api = header.apiKey();
            if (!KafkaApis.supports(api, header.apiVersion())) {
                if (api == ApiKeys.API_VERSIONS) { // Kafka's answer: v0, UNSUPPORTED_VERSION, the served versions
                    inFlight.add(new InFlight(header, null, (short) 0,
                            CompletableFuture.completedFuture(KafkaApis.apiVersions(Errors.UNSUPPORTED_VERSION))));
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
        inFlight.add(new InFlight(header, request, header.apiVersion(), response));
        if (inFlight.size() >= MAX_IN_FLIGHT) {
            ctx.channel().config().setAutoRead(false);
        }
        response.whenComplete((r, e) -> ctx.executor().execute(() -> writeCompleted(ctx)));
    }

    /** Writes the responses at the head of the queue that are complete, in request order. */
    private void writeCompleted(ChannelHandlerContext ctx) {
        boolean wrote = false;
        while (!inFlight.isEmpty() && inFlight.peek().response().isDone()) {
            InFlight done = inFlight.poll();
            ApiMessage body;
            try {
                body = done.response().join();
            } catch (RuntimeException e) {
                Throwable cause = BrokerErrors.unwrap(e);
                LOG.warn("request {} failed unexpectedly", done.header(), cause);
                body = done.request().getErrorResponse(0, cause).data();
            }
            if (body != null) {
                write(ctx, done.header(), done.version(), body);
                wrote = true;
            }
        }
        if (wrote) {
            ctx.flush();
        }
        if (inFlight.size() < MAX_IN_FLIGHT && !ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(true);
        }
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
