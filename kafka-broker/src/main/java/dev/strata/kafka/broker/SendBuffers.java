package dev.strata.kafka.broker;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import org.apache.kafka.common.network.Send;
import org.apache.kafka.common.network.TransferableChannel;

/**
 * Turns a Kafka {@link Send} (what kafka-clients' {@code SendBuilder} makes of a response: its
 * serialized fields in one heap buffer, and its records' own buffers) into one Netty {@link ByteBuf}
 * <b>without copying</b>: each buffer the send writes becomes a component that wraps it. The result
 * therefore refers to the records' memory (for a Fetch response, Strata's fetch buffers) until Netty
 * has written it; whoever owns that memory releases it when the write completes.
 *
 * <p>Stateless; one call per response, on any thread. Fails with {@link IllegalStateException} if
 * the send writes file regions ({@code FileRecords}), which this broker never has.
 */
final class SendBuffers {
    private SendBuffers() {
    }

    /** The bytes of {@code send}, in order, as wrapped buffers (released by Netty after the write). */
    static ByteBuf of(Send send) {
        Collector collector = new Collector();
        try {
            while (!send.completed()) {
                send.writeTo(collector);
            }
        } catch (IOException e) {
            collector.out.release();
            throw new IllegalStateException("collecting a response's buffers cannot fail: " + e, e);
        } catch (RuntimeException | Error e) {
            collector.out.release();
            throw e;
        }
        return collector.out;
    }

    /** A channel that takes every byte offered by wrapping the caller's buffers. */
    private static final class Collector implements TransferableChannel {
        final CompositeByteBuf out = Unpooled.compositeBuffer(Integer.MAX_VALUE);

        @Override
        public int write(ByteBuffer src) {
            int n = src.remaining();
            if (n > 0) {
                out.addComponent(true, Unpooled.wrappedBuffer(src.slice()));
                src.position(src.limit());
            }
            return n;
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) {
            long n = 0;
            for (int i = offset; i < offset + length; i++) {
                n += write(srcs[i]);
            }
            return n;
        }

        @Override
        public long write(ByteBuffer[] srcs) {
            return write(srcs, 0, srcs.length);
        }

        @Override
        public boolean hasPendingWrites() {
            return false;
        }

        @Override
        public long transferFrom(FileChannel fileChannel, long position, long count) {
            throw new IllegalStateException("a response with file regions cannot be sent by this broker");
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }
}
