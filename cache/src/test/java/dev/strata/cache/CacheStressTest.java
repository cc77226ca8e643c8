package dev.strata.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.BackpressureException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Many threads against both caches with constant eviction, on real thread pools, with Netty's
 * paranoid leak detector on (the class fails if any buffer leaks) and a check that the pool has no
 * live allocation once everything is closed. Assertions are invariants that hold in every
 * interleaving; nothing waits on time.
 */
class CacheStressTest {
    private static final int THREADS = 8;

    @Test
    void blockCacheUnderConcurrentReadsEvictionsAndInvalidationsServesCorrectBytesAndLeaksNothing()
            throws Exception {
        PooledByteBufAllocator alloc = new PooledByteBufAllocator(true);
        ForkJoinPool cacheExecutor = new ForkJoinPool(2);
        ExecutorService ioExecutor = Executors.newFixedThreadPool(2, named("stress-io"));
        CountingLoader blocks = new CountingLoader(alloc, false);
        BlockLoader asyncLoader = (objectId, refs) -> CompletableFuture.supplyAsync(
                () -> blocks.buffers(new CountingLoader.Call(objectId, refs, null)), ioExecutor);
        Layout layout = new Layout(4, 8, 4096);
        BlockCache cache = BlockCache.builder(asyncLoader).locator(layout)
                .capacityBytes(40 * 4096) // far smaller than the data: constant eviction
                .maxInFlightBytes(32 * 4096).maxWaitingLoads(4).initialWindowBytes(2 * 4096)
                .maxWindowBytes(16 * 4096).executor(cacheExecutor).build();
        AtomicLong served = new AtomicLong();
        AtomicInteger rejected = new AtomicInteger();
        List<Throwable> errors = new ArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int id = t;
            Thread thread = new Thread(() -> {
                SplittableRandom random = new SplittableRandom(id);
                try {
                    start.await();
                    for (int i = 0; i < 1500; i++) {
                        long stream = random.nextInt(4);
                        // Half the threads scan sequentially, half read at random; all share streams.
                        int n = id % 2 == 0 ? i % layout.totalBlocks() : random.nextInt(layout.totalBlocks());
                        BlockRef ref = layout.block(stream, n);
                        if (i % 200 == 199) {
                            cache.invalidateObject(ref.objectId());
                        }
                        ByteBuf b;
                        try {
                            b = cache.read(stream * 10 + id, ref).join();
                        } catch (CompletionException e) {
                            if (e.getCause() instanceof BackpressureException) {
                                rejected.incrementAndGet();
                                continue;
                            }
                            throw e;
                        }
                        try {
                            long tag = b.getLong(b.readerIndex());
                            if (tag != CountingLoader.tag(ref.objectId(), ref.blockIndex())
                                    || b.readableBytes() != 4096) {
                                throw new AssertionError("wrong block for " + ref + ": tag=" + tag);
                            }
                        } finally {
                            b.release();
                        }
                        served.incrementAndGet();
                    }
                } catch (Throwable e) {
                    synchronized (errors) {
                        errors.add(e);
                    }
                }
            }, "stress-reader-" + t);
            threads.add(thread);
            thread.start();
        }
        start.countDown();
        for (Thread t : threads) {
            t.join();
        }
        assertThat(errors).isEmpty();
        assertThat(served.get() + rejected.get()).isEqualTo(THREADS * 1500L);
        BlockCacheStats s = cache.stats();
        assertThat(s.evictions()).isPositive();
        // Let read-ahead loads still running finish: then the only budget still held is read-ahead
        // nobody has read yet and the blocks the readers' streams are still in.
        shutdown(ioExecutor);
        assertThat(cacheExecutor.awaitQuiescence(1, TimeUnit.MINUTES)).isTrue();
        s = cache.stats();
        assertThat(s.inFlightBytes()).isEqualTo(s.prefetchedUnreadBytes() + s.readingBytes());
        cache.close();
        assertThat(cache.stats().inFlightBytes()).isZero();
        shutdown(cacheExecutor);
        assertThat(BlockCacheTest.activeAllocations(alloc)).isZero();
    }

    @Test
    void logCacheUnderConcurrentAppendsTailReadsUploadsAndTrimsIsConsistentAndLeaksNothing() throws Exception {
        PooledByteBufAllocator alloc = new PooledByteBufAllocator(true);
        LogCache cache = LogCache.builder().capacityBytes(64 * 1024).blockSizeBytes(8 * 1024).build();
        int streams = 4;
        int batchesPerStream = 1500;
        List<Throwable> errors = new ArrayList<>();
        AtomicInteger writersDone = new AtomicInteger();
        AtomicLong overCapacity = new AtomicLong();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int s = 0; s < streams; s++) {
            long stream = s;
            threads.add(new Thread(Concurrently.guarded(errors, start, () -> {
                for (int i = 0; i < batchesPerStream; i++) {
                    // Backpressure as the engine applies it: wait for the uploader, without sleeping.
                    while (!cache.hasRoomFor(128)) {
                        Thread.yield();
                    }
                    ByteBuf data = alloc.directBuffer(128).writeLong(stream << 32 | i).writeZero(120);
                    if (cache.insert(stream, i, 1, 128, data) == InsertStatus.OVER_CAPACITY) {
                        overCapacity.incrementAndGet();
                    }
                    if (i % 500 == 499) {
                        cache.trim(stream, i - 100);
                    }
                }
                writersDone.incrementAndGet();
            }), "stress-writer-" + s));
        }
        threads.add(new Thread(Concurrently.guarded(errors, start, () -> {
            while (writersDone.get() < streams || cache.unuploadedBytes() > 0) {
                List<SealedBlock> sealed = cache.sealForUpload();
                if (sealed.isEmpty()) {
                    Thread.yield();
                }
                for (SealedBlock block : sealed) {
                    long previous = -1;
                    for (CachedBatch b : block.batches()) {
                        if (b.data().getLong(b.data().readerIndex()) != (b.streamId() << 32 | b.baseOffset())) {
                            throw new AssertionError("uploader got wrong bytes: " + b);
                        }
                        previous = b.baseOffset();
                    }
                    cache.markUploaded(block.id());
                    block.close();
                    assertThat(previous).isNotNegative();
                }
            }
        }), "stress-uploader"));
        for (int r = 0; r < 4; r++) {
            long stream = r % streams;
            threads.add(new Thread(Concurrently.guarded(errors, start, () -> {
                long next = 0;
                while (writersDone.get() < streams) {
                    try (LogCacheFetch f = cache.fetch(stream, next, Long.MAX_VALUE, 1024)) {
                        if (!f.isHit()) {
                            // Evicted or trimmed below us: a real reader would go to objects; skip ahead.
                            long first = cache.firstCachedOffset(stream);
                            next = Math.max(next, first < 0 ? next : first);
                            continue;
                        }
                        long expected = f.batches().isEmpty() ? next : f.batches().get(0).baseOffset();
                        for (CachedBatch b : f.batches()) {
                            if (b.baseOffset() != expected
                                    || b.data().getLong(b.data().readerIndex()) != (stream << 32 | b.baseOffset())) {
                                throw new AssertionError("tail read not contiguous or wrong bytes: " + b);
                            }
                            expected = b.nextOffset();
                        }
                        next = f.nextOffset();
                        if (f.batches().isEmpty()) {
                            Thread.yield(); // polling at the end: let the writers run
                        }
                    }
                }
            }), "stress-tail-" + r));
        }
        threads.forEach(Thread::start);
        start.countDown();
        for (Thread t : threads) {
            t.join();
        }
        assertThat(errors).isEmpty();
        assertThat(cache.unuploadedBytes()).isZero();
        assertThat(cache.stats().evictedBlocks()).isPositive();
        cache.close();
        assertThat(BlockCacheTest.activeAllocations(alloc)).isZero();
    }

    private static java.util.concurrent.ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.getAndIncrement());
            t.setDaemon(true);
            return t;
        };
    }

    private static void shutdown(ExecutorService... pools) throws InterruptedException {
        for (ExecutorService p : pools) {
            p.shutdown();
            assertThat(p.awaitTermination(1, TimeUnit.MINUTES)).isTrue();
        }
    }
}
