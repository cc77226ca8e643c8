package dev.strata.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * The cache's executor can be shut down while the cache is still in use (a store closing while
 * catch-up reads are in flight): the cache's work then runs on the calling thread. Reads complete,
 * nothing leaks, and Caffeine has no refused maintenance task to log as an error (issue 18, item 10:
 * it logged a RejectedExecutionException).
 */
class BlockCacheExecutorShutdownTest {
    private final PooledByteBufAllocator alloc = new PooledByteBufAllocator(true);

    /** A loader answering each block with its tag, at once. */
    private final class Loader implements BlockLoader {
        @Override
        public CompletableFuture<List<ByteBuf>> load(long objectId, List<BlockRef> blocks) {
            List<ByteBuf> out = new ArrayList<>();
            for (BlockRef b : blocks) {
                ByteBuf buf = alloc.directBuffer(b.sizeBytes());
                buf.writeLong(objectId * 1000 + b.blockIndex());
                buf.writerIndex(b.sizeBytes());
                out.add(buf);
            }
            return CompletableFuture.completedFuture(out);
        }
    }

    @Test
    void workAfterTheExecutorShutDownRunsInlineAndLogsNothing() throws Exception {
        List<String> logged = Collections.synchronizedList(new ArrayList<>());
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                    logged.add(r.getLoggerName() + ": " + r.getMessage() + " " + r.getThrown());
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger root = Logger.getLogger("");
        root.addHandler(capture);
        ExecutorService executor = Executors.newSingleThreadExecutor();
        BlockCache cache = BlockCache.builder(new Loader()).capacityBytes(2_000).maxInFlightBytes(10_000)
                .executor(executor).build();
        try {
            cache.read(1, new BlockRef(7, 0, 100)).join().release(); // warm: Caffeine has run on the executor
            executor.shutdown();
            assertThat(executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
            // Loads, hits and evictions (capacity 20 blocks) after the shutdown: each needs Caffeine's
            // maintenance and the load completion, which the executor now refuses.
            for (int i = 0; i < 60; i++) {
                ByteBuf b = cache.read(1, new BlockRef(7, i % 30, 100)).join();
                assertThat(b.getLong(b.readerIndex())).isEqualTo(7000 + i % 30);
                b.release();
            }
        } finally {
            cache.close();
            root.removeHandler(capture);
        }
        assertThat(logged).as("warnings and errors logged").isEmpty();
        assertThat(BlockCacheTest.activeAllocations(alloc)).as("buffers still allocated after close").isZero();
    }
}
