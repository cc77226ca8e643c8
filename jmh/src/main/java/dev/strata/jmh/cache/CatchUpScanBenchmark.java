package dev.strata.jmh.cache;

import dev.strata.cache.BlockCache;
import dev.strata.cache.BlockLoader;
import dev.strata.cache.BlockLocator;
import dev.strata.cache.BlockRef;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Sequential catch-up scan through the BlockCache with a loader of fixed latency (20 ms per call,
 * whatever its size, like a ranged GET to S3): one operation reads a stream's 64 MiB (256 blocks of
 * 256 KiB, in 8 objects of 32 blocks) from cold, block after block, releasing each. Compare
 * {@code readAhead=true} with {@code false}: ms/op, and MB/s = 64 MiB / (ms/op).
 *
 * <p>Each operation reads objects no earlier operation read, so every scan starts cold.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 2)
public class CatchUpScanBenchmark {
    static final int BLOCK_BYTES = 256 << 10;
    static final int BLOCKS_PER_OBJECT = 32;
    static final int OBJECTS = 8;
    static final long LATENCY_MS = 20;

    @Param({"true", "false"})
    public boolean readAhead;

    ScheduledExecutorService io;
    ExecutorService cacheExecutor;
    BlockCache cache;
    final AtomicInteger scans = new AtomicInteger();

    @Setup(Level.Trial)
    public void setUp() {
        io = Executors.newScheduledThreadPool(2, r -> new Thread(r, "bench-io"));
        cacheExecutor = Executors.newFixedThreadPool(2, r -> new Thread(r, "bench-cache"));
        BlockLoader loader = (objectId, blocks) -> {
            CompletableFuture<List<ByteBuf>> f = new CompletableFuture<>();
            io.schedule(() -> {
                List<ByteBuf> out = new ArrayList<>(blocks.size());
                for (BlockRef r : blocks) {
                    out.add(PooledByteBufAllocator.DEFAULT.directBuffer(r.sizeBytes()).writerIndex(r.sizeBytes()));
                }
                f.complete(out);
            }, LATENCY_MS, TimeUnit.MILLISECONDS);
            return f;
        };
        BlockCache.Builder b = BlockCache.builder(loader).capacityBytes(128L << 20).maxInFlightBytes(64L << 20)
                .executor(cacheExecutor);
        if (readAhead) {
            b.locator(CatchUpScanBenchmark::blocksAfter);
        }
        cache = b.build();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
        System.out.println("\n" + cache.stats());
        cache.close();
        io.shutdown();
        cacheExecutor.shutdown();
        io.awaitTermination(10, TimeUnit.SECONDS);
        cacheExecutor.awaitTermination(10, TimeUnit.SECONDS);
    }

    /** Scan s reads objects [s * OBJECTS, (s + 1) * OBJECTS). */
    static BlockRef block(long scan, int n) {
        return new BlockRef(scan * OBJECTS + n / BLOCKS_PER_OBJECT, n % BLOCKS_PER_OBJECT, BLOCK_BYTES);
    }

    static List<BlockRef> blocksAfter(long streamId, BlockRef after, long maxBytes) {
        long scan = after.objectId() / OBJECTS;
        int n = (int) (after.objectId() % OBJECTS) * BLOCKS_PER_OBJECT + after.blockIndex();
        List<BlockRef> out = new ArrayList<>();
        long bytes = 0;
        for (int i = n + 1; i < OBJECTS * BLOCKS_PER_OBJECT && (out.isEmpty() || bytes + BLOCK_BYTES <= maxBytes); i++) {
            out.add(block(scan, i));
            bytes += BLOCK_BYTES;
        }
        return out;
    }

    @Benchmark
    public long scan() {
        long scan = scans.getAndIncrement();
        long bytes = 0;
        for (int i = 0; i < OBJECTS * BLOCKS_PER_OBJECT; i++) {
            ByteBuf b = cache.read(scan, block(scan, i)).join();
            bytes += b.readableBytes();
            b.release();
        }
        return bytes;
    }
}
