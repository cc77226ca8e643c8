package dev.strata.objectstore.format;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class Crc32cTest {

    /**
     * Threads checksumming ranges of one buffer object at once each get their range's CRC: the
     * computation reads through a new NIO view of the range, not the buffer's internal one, which
     * Netty shares between all callers of that buffer (with it, threads moved each other's position
     * and limit: wrong values and IllegalArgumentException).
     */
    @Test
    void threadsChecksummingRangesOfOneBufferAtOnceEachGetTheirRangesValue() throws Exception {
        int threadCount = 4;
        byte[] bytes = new byte[threadCount * 4096];
        new Random(7).nextBytes(bytes);
        ByteBuf shared = Unpooled.directBuffer(bytes.length).writeBytes(bytes);
        ExecutorService threads = Executors.newFixedThreadPool(threadCount);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threadCount; t++) {
                int index = t * 4096; // different ranges
                int length = 1024 * (t + 1);
                CRC32C expected = new CRC32C();
                expected.update(bytes, index, length);
                int want = (int) expected.getValue();
                done.add(threads.submit(() -> {
                    start.await();
                    for (int i = 0; i < 50_000; i++) {
                        assertThat(Crc32c.compute(shared, index, length)).isEqualTo(want);
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS); // rethrows a wrong value
            }
        } finally {
            threads.shutdownNow();
            shared.release();
        }
    }
}
