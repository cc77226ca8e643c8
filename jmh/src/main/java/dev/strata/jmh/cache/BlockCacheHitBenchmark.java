package dev.strata.jmh.cache;

import dev.strata.cache.BlockCache;
import dev.strata.cache.BlockRef;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * BlockCache hit path: read of a cached block (Caffeine lookup, claim, retained duplicate, read-ahead
 * bookkeeping, counters) and release of the result, in ns/op. 1024 cached 64 KiB blocks read at
 * random, so read-ahead sees a random pattern and stays off.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class BlockCacheHitBenchmark {
    static final int BLOCKS = 1024;
    static final int BLOCK_BYTES = 64 << 10;

    BlockCache cache;
    final List<BlockRef> refs = new ArrayList<>();
    final AtomicLong readers = new AtomicLong();

    @Setup(Level.Trial)
    public void setUp() {
        cache = BlockCache.builder((objectId, blocks) -> {
            List<ByteBuf> out = new ArrayList<>();
            for (BlockRef r : blocks) {
                out.add(PooledByteBufAllocator.DEFAULT.directBuffer(r.sizeBytes()).writeZero(r.sizeBytes()));
            }
            return CompletableFuture.completedFuture(out);
        }).capacityBytes(256L << 20).locator((s, b, max) -> List.of()).executor(Runnable::run).build();
        for (int i = 0; i < BLOCKS; i++) {
            BlockRef r = new BlockRef(i / 16, i % 16, BLOCK_BYTES);
            refs.add(r);
            cache.read(0, r).join().release();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (cache.stats().loads() != BLOCKS) {
            throw new IllegalStateException("hit benchmark missed: " + cache.stats());
        }
        cache.close();
    }

    /** A reader: its own stream id and random sequence. */
    @State(Scope.Thread)
    public static class Reader {
        long stream;
        SplittableRandom random;

        @Setup(Level.Trial)
        public void setUp(BlockCacheHitBenchmark b) {
            stream = 1 + b.readers.getAndIncrement();
            random = new SplittableRandom(stream);
        }
    }

    @Benchmark
    public int hit(Reader r) {
        ByteBuf b = cache.read(r.stream, refs.get(r.random.nextInt(BLOCKS))).join();
        int size = b.readableBytes();
        b.release();
        return size;
    }
}
