package dev.strata.cache;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;

/** Pooled direct test buffers whose content encodes where they came from. */
final class TestBuffers {
    static final PooledByteBufAllocator ALLOC = new PooledByteBufAllocator(true);

    private TestBuffers() {
    }

    /** A direct buffer of {@code size} bytes (>= 8) whose first long is {@code tag}. */
    static ByteBuf tagged(long tag, int size) {
        ByteBuf buf = ALLOC.directBuffer(size);
        buf.writeLong(tag);
        buf.writeZero(size - Long.BYTES);
        return buf;
    }

    static long tag(ByteBuf buf) {
        return buf.getLong(buf.readerIndex());
    }
}
