package dev.strata.jmh.cache;

import dev.strata.cache.InsertStatus;
import dev.strata.cache.LogCache;
import dev.strata.cache.LogCacheFetch;
import dev.strata.cache.SealedBlock;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
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
import org.openjdk.jmh.infra.Blackhole;

/**
 * LogCache append and tail-read throughput. Run with {@code -t 1}, {@code -t 4}, {@code -t 16}: each
 * thread appends to (or tails) its own stream, so threads contend only where the cache makes them.
 *
 * <p>append: inserts a 1 KiB batch (a retained duplicate of one pooled buffer, as the engine shares
 * the WAL buffer); every 1024 inserts the thread plays uploader (seal, mark uploaded) so the cache
 * stays bounded and eviction is part of the cost. tailRead: fetches the last 10 batches (maxBytes
 * 64 KiB) of a stream of 4096 cached batches and releases them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class LogCacheBenchmark {
    static final int BATCH_BYTES = 1024;
    static final int TAIL_BATCHES = 4096;

    LogCache cache;
    ByteBuf payload;
    final AtomicLong streams = new AtomicLong();

    @Setup(Level.Trial)
    public void setUp() {
        cache = LogCache.builder().capacityBytes(256L << 20).blockSizeBytes(8L << 20).build();
        payload = PooledByteBufAllocator.DEFAULT.directBuffer(BATCH_BYTES).writeZero(BATCH_BYTES);
        // Streams 1_000_000.. hold data for tail readers: 64 streams x 4096 batches x 1 KiB.
        for (long s = 0; s < 64; s++) {
            for (int i = 0; i < TAIL_BATCHES; i++) {
                cache.insert(1_000_000 + s, i, 1, BATCH_BYTES, payload.retainedDuplicate());
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        cache.close();
        payload.release();
    }

    /** Per-thread stream and offset. */
    @State(Scope.Thread)
    public static class Writer {
        long stream;
        long next;
        long tailStream;

        @Setup(Level.Trial)
        public void setUp(LogCacheBenchmark b) {
            long n = b.streams.getAndIncrement();
            stream = n;
            tailStream = 1_000_000 + (n % 64);
        }
    }

    @Benchmark
    public InsertStatus append(Writer w) {
        InsertStatus status = cache.insert(w.stream, w.next, 1, BATCH_BYTES, payload.retainedDuplicate());
        if ((++w.next & 1023) == 0 || status == InsertStatus.OVER_CAPACITY) {
            for (SealedBlock block : cache.sealForUpload()) {
                cache.markUploaded(block.id());
                block.close();
            }
        }
        return status;
    }

    @Benchmark
    public void tailRead(Writer w, Blackhole bh) {
        try (LogCacheFetch f = cache.fetch(w.tailStream, TAIL_BATCHES - 10, Long.MAX_VALUE, 64 << 10)) {
            bh.consume(f.batches().size());
        }
    }
}
