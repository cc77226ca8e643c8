package dev.strata.cache;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A direct-buffer allocator that remembers the buffers it made, to check their reference counts. */
class RecordingAllocator extends AbstractByteBufAllocator {
    final List<ByteBuf> made = new CopyOnWriteArrayList<>();

    RecordingAllocator() {
        super(true);
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        throw new UnsupportedOperationException("slabs and append buffers are direct");
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        ByteBuf b = Unpooled.directBuffer(initialCapacity, maxCapacity);
        made.add(b);
        return b;
    }

    @Override
    public boolean isDirectBufferPooled() {
        return false;
    }

    /** Buffers made and not yet released. */
    long live() {
        return made.stream().filter(b -> b.refCnt() > 0).count();
    }
}
