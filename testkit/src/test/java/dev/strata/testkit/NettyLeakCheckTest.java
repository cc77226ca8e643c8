package dev.strata.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;

/**
 * Guards the guard: the leak check must see a leaked buffer and must not flag a released one. Each
 * buffer lives in its own method so no stale local keeps a (recycled) pooled buffer reachable.
 */
class NettyLeakCheckTest {

    @Test
    void releasedBufferIsNotReportedAsLeak() {
        useAndRelease();
        assertThat(NettyLeakCheck.collectLeaks()).isEmpty();
    }

    @Test
    void leakedBufferIsReported() {
        leakOneBuffer();
        // collectLeaks() drains the record, so this class's own after-all check stays green.
        assertThat(NettyLeakCheck.collectLeaks()).hasSize(1).first().asString().contains("LEAK");
    }

    private static void useAndRelease() {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        buf.writeLong(1);
        buf.release();
    }

    private static void leakOneBuffer() {
        ByteBuf leaked = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        leaked.writeLong(42);
        // no release: the buffer becomes unreachable when this method returns
    }
}
