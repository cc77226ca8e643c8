package dev.strata.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.BackpressureException;
import dev.strata.api.CorruptDataException;
import dev.strata.api.StorageException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PoolArenaMetric;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BlockCacheTest {
    private final PooledByteBufAllocator alloc = new PooledByteBufAllocator(true);
    private final List<BlockCache> caches = new ArrayList<>();

    @AfterEach
    void closeAndCheckAllMemoryReturned() {
        caches.forEach(BlockCache::close);
        assertThat(activeAllocations(alloc)).as("buffers still allocated after close").isZero();
    }

    static long activeAllocations(PooledByteBufAllocator alloc) {
        long n = 0;
        for (PoolArenaMetric a : alloc.metric().directArenas()) {
            n += a.numActiveAllocations();
        }
        return n;
    }

    private BlockCache cache(CountingLoader loader, long capacity, long inFlight, int waiting) {
        BlockCache c = BlockCache.builder(loader).capacityBytes(capacity).maxInFlightBytes(inFlight)
                .maxWaitingLoads(waiting).executor(Runnable::run).build();
        caches.add(c);
        return c;
    }

    private static BlockRef block(long object, int index) {
        return new BlockRef(object, index, 100);
    }

    private static long tagOf(ByteBuf b) {
        return b.getLong(b.readerIndex());
    }

    @Test
    void missLoadsOnceThenHitsShareTheSameMemory() {
        CountingLoader loader = new CountingLoader(alloc, false);
        BlockCache cache = cache(loader, 10_000, 10_000, 10);
        ByteBuf first = cache.read(1, block(7, 3)).join();
        ByteBuf second = cache.read(1, block(7, 3)).join();
        try {
            assertThat(tagOf(first)).isEqualTo(CountingLoader.tag(7, 3));
            assertThat(second.memoryAddress() + second.readerIndex())
                    .isEqualTo(first.memoryAddress() + first.readerIndex());
            assertThat(loader.calls).hasSize(1);
            BlockCacheStats s = cache.stats();
            assertThat(s.hits()).isEqualTo(1);
            assertThat(s.misses()).isEqualTo(1);
            assertThat(s.hitRatio()).isEqualTo(0.5);
            assertThat(s.cachedBytes()).isEqualTo(100);
        } finally {
            first.release();
            second.release();
        }
    }

    @Test
    void concurrentMissesForOneBlockCauseOneLoad() {
        CountingLoader loader = new CountingLoader(alloc, true);
        BlockCache cache = cache(loader, 10_000, 10_000, 10);
        List<CompletableFuture<ByteBuf>> reads = new ArrayList<>();
        for (int stream = 0; stream < 10; stream++) {
            reads.add(cache.read(stream, block(1, 0)));
        }
        assertThat(loader.calls).hasSize(1);
        assertThat(reads).noneMatch(CompletableFuture::isDone);
        loader.completeNext();
        for (CompletableFuture<ByteBuf> r : reads) {
            ByteBuf b = r.join();
            assertThat(tagOf(b)).isEqualTo(CountingLoader.tag(1, 0));
            b.release();
        }
        assertThat(cache.stats().misses()).isEqualTo(10);
        assertThat(cache.stats().loadedBlocks()).isEqualTo(1);
    }

    @Test
    void cacheIsBoundedByBytesAndEvictionKeepsReaderBuffersAlive() {
        CountingLoader loader = new CountingLoader(alloc, false);
        BlockCache cache = cache(loader, 300, 10_000, 10);
        ByteBuf held = cache.read(1, block(1, 0)).join();
        for (int i = 1; i < 10; i++) {
            cache.read(1, block(2, i * 2)).join().release();
        }
        cache.cleanUp();
        BlockCacheStats s = cache.stats();
        assertThat(s.cachedBytes()).isLessThanOrEqualTo(300);
        assertThat(s.evictions()).isGreaterThanOrEqualTo(7);
        assertThat(s.evictedBytes()).isEqualTo(s.evictions() * 100);
        // Whatever was evicted, the reader's reference is intact.
        assertThat(held.refCnt()).isPositive();
        assertThat(tagOf(held)).isEqualTo(CountingLoader.tag(1, 0));
        held.release();
    }

    @Test
    void blockLargerThanTheCacheIsStillDeliveredToItsReaders() {
        CountingLoader loader = new CountingLoader(alloc, true);
        BlockCache cache = cache(loader, 50, 10_000, 10);
        CompletableFuture<ByteBuf> a = cache.read(1, block(1, 0));
        CompletableFuture<ByteBuf> b = cache.read(2, block(1, 0));
        loader.completeNext();
        cache.cleanUp();
        assertThat(cache.stats().cachedBytes()).isZero();
        ByteBuf ba = a.join();
        ByteBuf bb = b.join();
        assertThat(tagOf(ba)).isEqualTo(tagOf(bb)).isEqualTo(CountingLoader.tag(1, 0));
        ba.release();
        bb.release();
    }

    @Test
    void inFlightBudgetQueuesBoundedThenFailsWithBackpressure() {
        CountingLoader loader = new CountingLoader(alloc, true);
        BlockCache cache = cache(loader, 10_000, 150, 1);
        CompletableFuture<ByteBuf> a = cache.read(1, block(1, 0));
        CompletableFuture<ByteBuf> b = cache.read(2, block(2, 0)); // 200 > 150: waits
        CompletableFuture<ByteBuf> c = cache.read(3, block(3, 0)); // queue full
        assertThat(loader.calls).hasSize(1);
        assertThat(cache.stats().inFlightBytes()).isEqualTo(100);
        assertThatThrownBy(c::join).isInstanceOf(CompletionException.class)
                .hasCauseInstanceOf(BackpressureException.class)
                .hasMessageContaining("inFlightBytes=100");
        assertThat(cache.stats().rejectedReads()).isEqualTo(1);
        loader.completeNext(); // frees budget: the waiting load starts
        assertThat(loader.calls).hasSize(2);
        loader.completeNext();
        a.join().release();
        b.join().release();
        assertThat(cache.stats().inFlightBytes()).isZero();
        // The failed block was not cached as a failure: a retry loads it.
        CompletableFuture<ByteBuf> retry = cache.read(3, block(3, 0));
        loader.completeNext();
        assertThat(loader.calls).hasSize(3);
        retry.join().release();
    }

    @Test
    void loadWaitingTooLongForBudgetFailsWithBackpressureWhenItsTurnComes() {
        CountingLoader loader = new CountingLoader(alloc, true);
        FakeTicker ticker = new FakeTicker();
        BlockCache cache = BlockCache.builder(loader).capacityBytes(10_000).maxInFlightBytes(150)
                .maxWait(java.time.Duration.ofSeconds(1)).ticker(ticker).executor(Runnable::run).build();
        caches.add(cache);
        CompletableFuture<ByteBuf> a = cache.read(1, block(1, 0));
        CompletableFuture<ByteBuf> b = cache.read(2, block(2, 0));
        ticker.advance(java.time.Duration.ofSeconds(2));
        loader.completeNext();
        a.join().release();
        assertThatThrownBy(b::join).hasCauseInstanceOf(BackpressureException.class)
                .hasMessageContaining("waited too long");
        assertThat(loader.calls).hasSize(1);
        assertThat(cache.stats().rejectedReads()).isEqualTo(1);
        assertThat(cache.stats().inFlightBytes()).isZero();
    }

    @Test
    void loaderFailureReachesEveryWaitingReaderAndIsNotCached() {
        CountingLoader loader = new CountingLoader(alloc, true);
        BlockCache cache = cache(loader, 10_000, 10_000, 10);
        CompletableFuture<ByteBuf> a = cache.read(1, block(1, 0));
        CompletableFuture<ByteBuf> b = cache.read(2, block(1, 0));
        StorageException boom = new StorageException("GET failed: key=x status=503", true);
        loader.failNext(boom);
        assertThatThrownBy(a::join).hasCause(boom);
        assertThatThrownBy(b::join).hasCause(boom);
        CompletableFuture<ByteBuf> retry = cache.read(1, block(1, 0));
        loader.completeNext();
        retry.join().release();
        assertThat(loader.calls).hasSize(2);
        assertThat(cache.stats().inFlightBytes()).isZero();
    }

    /**
     * Regression guard for RELIABILITY.md bug 6: a demand block and its read-ahead are loaded as one
     * run; a damaged block in that run used to fail the readers of every block in it, so intact data
     * was reported corrupt (and read fine on the next try). Here the loader reports per-block outcomes.
     */
    @Test
    void aDamagedBlockInALoadedRunFailsOnlyItsOwnReaders() {
        java.util.Set<Integer> damaged = java.util.Set.of(3);
        List<List<BlockRef>> calls = new java.util.concurrent.CopyOnWriteArrayList<>();
        BlockLoader perBlock = new BlockLoader() {
            @Override
            public CompletableFuture<List<ByteBuf>> load(long objectId, List<BlockRef> blocks) {
                throw new AssertionError("the cache calls loadEach");
            }

            @Override
            public List<CompletableFuture<ByteBuf>> loadEach(long objectId, List<BlockRef> blocks) {
                calls.add(blocks);
                List<CompletableFuture<ByteBuf>> out = new ArrayList<>();
                for (BlockRef r : blocks) {
                    out.add(damaged.contains(r.blockIndex())
                            ? CompletableFuture.failedFuture(new CorruptDataException("data block CRC mismatch: "
                                    + "objectId=" + r.objectId() + " block=" + r.blockIndex()))
                            : CompletableFuture.completedFuture(alloc.directBuffer(r.sizeBytes())
                                    .writeLong(CountingLoader.tag(r.objectId(), r.blockIndex()))
                                    .writeZero(r.sizeBytes() - Long.BYTES)));
                }
                return out;
            }
        };
        Layout layout = new Layout(1, 10, 100); // stream 0: object 0, blocks 0..9
        BlockCache cache = BlockCache.builder(perBlock).locator(layout).sequentialThreshold(1)
                .initialWindowBytes(300).maxWindowBytes(300).capacityBytes(10_000).maxInFlightBytes(10_000)
                .executor(Runnable::run).build();
        caches.add(cache);

        cache.read(0, layout.block(0, 0)).join().release();
        // sequential: block 1 is loaded together with its read-ahead 2, 3, 4, in one run
        ByteBuf one = cache.read(0, layout.block(0, 1)).join();
        try {
            assertThat(tagOf(one)).isEqualTo(CountingLoader.tag(0, 1));
        } finally {
            one.release();
        }
        assertThat(calls).hasSize(2);
        assertThat(calls.get(1)).extracting(BlockRef::blockIndex).containsExactly(1, 2, 3, 4);

        for (int intact : new int[] {2, 4}) {
            ByteBuf b = cache.read(7, layout.block(0, intact)).join();
            try {
                assertThat(tagOf(b)).isEqualTo(CountingLoader.tag(0, intact));
            } finally {
                b.release();
            }
        }
        assertThat(calls).as("intact blocks of the run were published, not loaded again").hasSize(2);
        assertThatThrownBy(() -> cache.read(7, layout.block(0, 3)).join())
                .hasCauseInstanceOf(CorruptDataException.class).hasMessageContaining("block=3");
        assertThat(calls).as("a damaged block is not cached: it is loaded again").hasSize(3);
        // Stream 7 is still in block 4 (read-ahead it read): that block alone holds budget.
        assertThat(cache.stats().readingBytes()).isEqualTo(100);
        assertThat(cache.stats().inFlightBytes()).isEqualTo(100);
    }

    /**
     * The default per-block outcomes of a loader that only implements {@code load} (as the engine's
     * does): a run that fails as corrupt is loaded again block by block, so its intact blocks are
     * served and only the damaged one fails (regression guard for RELIABILITY.md bug 6).
     */
    @Test
    void aRunThatFailsAsCorruptIsLoadedAgainBlockByBlock() {
        List<List<Integer>> calls = new java.util.concurrent.CopyOnWriteArrayList<>();
        BlockLoader allOrNothing = (objectId, blocks) -> {
            calls.add(blocks.stream().map(BlockRef::blockIndex).toList());
            if (blocks.stream().anyMatch(r -> r.blockIndex() == 3)) {
                return CompletableFuture.failedFuture(new CorruptDataException("data block CRC mismatch: objectId="
                        + objectId + " block=3"));
            }
            List<ByteBuf> out = new ArrayList<>();
            for (BlockRef r : blocks) {
                out.add(alloc.directBuffer(r.sizeBytes()).writeLong(CountingLoader.tag(r.objectId(), r.blockIndex()))
                        .writeZero(r.sizeBytes() - Long.BYTES));
            }
            return CompletableFuture.completedFuture(out);
        };
        Layout layout = new Layout(1, 10, 100);
        BlockCache cache = BlockCache.builder(allOrNothing).locator(layout).sequentialThreshold(1)
                .initialWindowBytes(300).maxWindowBytes(300).capacityBytes(10_000).maxInFlightBytes(10_000)
                .executor(Runnable::run).build();
        caches.add(cache);

        cache.read(0, layout.block(0, 0)).join().release();
        ByteBuf one = cache.read(0, layout.block(0, 1)).join();
        try {
            assertThat(tagOf(one)).isEqualTo(CountingLoader.tag(0, 1));
        } finally {
            one.release();
        }
        assertThat(calls).containsExactly(List.of(0), List.of(1, 2, 3, 4), List.of(1), List.of(2), List.of(3),
                List.of(4));
        for (int intact : new int[] {2, 4}) {
            ByteBuf b = cache.read(7, layout.block(0, intact)).join();
            try {
                assertThat(tagOf(b)).isEqualTo(CountingLoader.tag(0, intact));
            } finally {
                b.release();
            }
        }
        assertThatThrownBy(() -> cache.read(7, layout.block(0, 3)).join())
                .hasCauseInstanceOf(CorruptDataException.class).hasMessageContaining("block=3");
        assertThat(calls).hasSize(7);
        assertThat(cache.stats().inFlightBytes()).isEqualTo(cache.stats().readingBytes());
    }

    @Test
    void aStorageFailureOfARunFailsEveryBlockOfItWithoutMoreReads() {
        Layout layout = new Layout(1, 10, 100);
        CountingLoader loader = new CountingLoader(alloc, true);
        BlockCache cache = BlockCache.builder(loader).locator(layout).sequentialThreshold(1)
                .initialWindowBytes(300).maxWindowBytes(300).capacityBytes(10_000).maxInFlightBytes(10_000)
                .executor(Runnable::run).build();
        caches.add(cache);
        CompletableFuture<ByteBuf> zero = cache.read(0, layout.block(0, 0));
        loader.completeNext();
        zero.join().release();
        CompletableFuture<ByteBuf> one = cache.read(0, layout.block(0, 1));
        CompletableFuture<ByteBuf> two = cache.read(7, layout.block(0, 2)); // joins the read-ahead
        assertThat(loader.calls.get(1).blocks()).extracting(BlockRef::blockIndex).containsExactly(1, 2, 3, 4);
        StorageException down = new StorageException("connection reset", true);
        loader.failNext(down);
        assertThatThrownBy(one::join).hasCause(down);
        assertThatThrownBy(two::join).hasCause(down);
        assertThat(loader.calls).hasSize(2);
        assertThat(cache.stats().inFlightBytes()).isZero();
    }

    @Test
    void loaderReturningWrongNumberOfBuffersFailsAndReleasesThem() {
        BlockLoader bad = (objectId, blocks) -> CompletableFuture.completedFuture(
                List.of(alloc.directBuffer(8).writeLong(1), alloc.directBuffer(8).writeLong(2)));
        BlockCache cache = BlockCache.builder(bad).executor(Runnable::run).build();
        caches.add(cache);
        assertThatThrownBy(() -> cache.read(1, block(1, 0)).join())
                .hasCauseInstanceOf(IllegalStateException.class)
                .hasMessageContaining("returned 2 buffers for 1 blocks");
    }

    @Test
    void loaderThrowingSynchronouslyFailsTheRead() {
        BlockLoader bad = (objectId, blocks) -> {
            throw new StorageException("no connection", true);
        };
        BlockCache cache = BlockCache.builder(bad).executor(Runnable::run).build();
        caches.add(cache);
        assertThatThrownBy(() -> cache.read(1, block(1, 0)).join()).hasCauseInstanceOf(StorageException.class);
    }

    @Test
    void closeReleasesCachedBlocksAndLateLoadsAndRefusesReads() {
        CountingLoader loader = new CountingLoader(alloc, true);
        BlockCache cache = cache(loader, 10_000, 10_000, 10);
        CompletableFuture<ByteBuf> late = cache.read(1, block(1, 0));
        CompletableFuture<ByteBuf> cached = cache.read(1, block(2, 0));
        loader.calls.get(1).future().complete(loader.buffers(loader.calls.get(1)));
        ByteBuf held = cached.join();
        cache.close();
        loader.calls.get(0).future().complete(loader.buffers(loader.calls.get(0)));
        assertThatThrownBy(late::join).hasCauseInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> cache.read(1, block(3, 0)).join()).hasCauseInstanceOf(IllegalStateException.class);
        assertThat(tagOf(held)).isEqualTo(CountingLoader.tag(2, 0));
        held.release();
    }

    /**
     * Regression: a load still in flight when the store closes completes after the cache's executor
     * shut down. The hand-off of its completion to that executor was refused, so the loaded buffers
     * were never released (a leak the S3 workload-runner test caught) and the read never completed.
     */
    @Test
    void aLoadCompletingAfterTheExecutorShutDownFailsItsReadAndReleasesItsBuffers() throws Exception {
        CountingLoader loader = new CountingLoader(alloc, true);
        java.util.concurrent.ExecutorService executor = java.util.concurrent.Executors.newSingleThreadExecutor();
        BlockCache cache = BlockCache.builder(loader).capacityBytes(10_000).maxInFlightBytes(10_000)
                .executor(executor).build();
        caches.add(cache);
        CompletableFuture<ByteBuf> late = cache.read(1, block(1, 0));
        cache.close();
        executor.shutdown();
        loader.calls.get(0).future().complete(loader.buffers(loader.calls.get(0)));
        assertThatThrownBy(() -> late.get(10, java.util.concurrent.TimeUnit.SECONDS))
                .hasCauseInstanceOf(IllegalStateException.class);
        assertThat(activeAllocations(alloc)).isZero();
    }

    @Test
    void failingLocatorDoesNotFailReads() {
        CountingLoader loader = new CountingLoader(alloc, false);
        BlockCache cache = BlockCache.builder(loader).locator((s, b, max) -> {
            throw new IllegalStateException("index unavailable");
        }).executor(Runnable::run).build();
        caches.add(cache);
        for (int i = 0; i < 5; i++) {
            ByteBuf b = cache.read(1, block(1, i)).join();
            assertThat(tagOf(b)).isEqualTo(CountingLoader.tag(1, i));
            b.release();
        }
        assertThat(cache.stats().prefetchedBytes()).isZero();
    }

    @Test
    void invalidateObjectDropsItsBlocks() {
        CountingLoader loader = new CountingLoader(alloc, false);
        BlockCache cache = cache(loader, 10_000, 10_000, 10);
        cache.read(1, block(1, 0)).join().release();
        cache.read(1, block(2, 0)).join().release();
        cache.invalidateObject(1);
        cache.read(1, block(1, 0)).join().release();
        cache.read(1, block(2, 0)).join().release();
        assertThat(loader.calls).hasSize(3);
    }

    @Test
    void builderValidatesOptions() {
        CountingLoader loader = new CountingLoader(alloc, false);
        assertThatThrownBy(() -> BlockCache.builder(loader).capacityBytes(0)).hasMessageContaining("capacityBytes");
        assertThatThrownBy(() -> BlockCache.builder(loader).build()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("executor");
        assertThatThrownBy(() -> BlockCache.builder(loader).executor(Runnable::run).initialWindowBytes(10)
                .maxWindowBytes(5).build()).hasMessageContaining("initialWindowBytes=10");
        assertThatThrownBy(() -> BlockCache.builder(loader).prefetchBudgetFraction(1.5))
                .hasMessageContaining("prefetchBudgetFraction");
    }
}
