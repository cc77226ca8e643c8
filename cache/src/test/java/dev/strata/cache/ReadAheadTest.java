package dev.strata.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ReadAheadTest {
    private static final int BLOCK = 64 << 10;

    private final PooledByteBufAllocator alloc = new PooledByteBufAllocator(true);
    private final FakeTicker ticker = new FakeTicker();
    private final Layout layout = new Layout(4, 16, BLOCK); // 64 blocks of 64 KiB per stream
    private final List<BlockCache> caches = new ArrayList<>();

    @AfterEach
    void close() {
        caches.forEach(BlockCache::close);
        assertThat(BlockCacheTest.activeAllocations(alloc)).isZero();
    }

    private BlockCache.Builder builder(CountingLoader loader) {
        return BlockCache.builder(loader).locator(layout).capacityBytes(64L << 20).maxInFlightBytes(64L << 20)
                .initialWindowBytes(256 << 10).maxWindowBytes(2 << 20).maxLoadBytes(1 << 20)
                .executor(Runnable::run).ticker(ticker);
    }

    private BlockCache build(BlockCache.Builder b) {
        BlockCache c = b.build();
        caches.add(c);
        return c;
    }

    private static void readAndCheck(BlockCache cache, long stream, BlockRef ref) {
        ByteBuf b = cache.read(stream, ref).join();
        try {
            assertThat(b.getLong(b.readerIndex())).isEqualTo(CountingLoader.tag(ref.objectId(), ref.blockIndex()));
            assertThat(b.readableBytes()).isEqualTo(ref.sizeBytes());
        } finally {
            b.release();
        }
    }

    @Test
    void sequentialScanMakesFarFewerLoadsThanBlocks() {
        CountingLoader loader = new CountingLoader(alloc, false);
        BlockCache cache = build(builder(loader));
        int n = layout.totalBlocks();
        for (int i = 0; i < n; i++) {
            readAndCheck(cache, 1, layout.block(1, i));
        }
        BlockCacheStats s = cache.stats();
        assertThat(loader.calls.size()).isLessThanOrEqualTo(n / 4);
        assertThat(loader.blocksLoaded()).isEqualTo(n); // each block loaded exactly once
        assertThat(s.hits()).isGreaterThanOrEqualTo(n - 3L);
        assertThat(s.prefetchedBytes()).isGreaterThan(0);
        // Loads are runs of adjacent blocks of one object, never above maxLoadBytes.
        for (CountingLoader.Call c : loader.calls) {
            for (int i = 1; i < c.blocks().size(); i++) {
                assertThat(c.blocks().get(i - 1).isFollowedBy(c.blocks().get(i))).isTrue();
            }
            assertThat(c.blocks().size() * (long) BLOCK).isLessThanOrEqualTo(1 << 20);
        }
        assertThat(loader.calls).anyMatch(c -> c.blocks().size() > 1);
    }

    /** A cache of 16 blocks filled with 16 blocks of stream 9, each read five times (popular, not sequential). */
    private BlockCache fullOfPopularBlocks(CountingLoader loader) {
        BlockCache cache = build(builder(loader).capacityBytes(16L * BLOCK));
        for (int round = 0; round < 5; round++) {
            for (int i = 0; i < 16; i++) {
                readAndCheck(cache, 9, new BlockRef(9_999, i * 2, BLOCK));
            }
        }
        cache.cleanUp();
        return cache;
    }

    /**
     * Regression: read-ahead blocks used to go straight into Caffeine, whose TinyLFU admission
     * evicted them (never read, so least popular) before the reader arrived whenever the cache was
     * full of more popular blocks; the scan then ran at one load per block.
     */
    @Test
    void readAheadIsNotEvictedByAFullCacheOfPopularBlocks() {
        CountingLoader loader = new CountingLoader(alloc, false);
        BlockCache cache = fullOfPopularBlocks(loader);
        int callsBefore = loader.calls.size();
        int n = layout.totalBlocks();
        for (int i = 0; i < n; i++) {
            readAndCheck(cache, 1, layout.block(1, i));
        }
        cache.cleanUp();
        assertThat(cache.stats().prefetchedUnusedBytes()).isZero();
        assertThat(loader.calls.size() - callsBefore).isLessThanOrEqualTo(n / 4);
    }

    /**
     * Regression: a reader's fetches rarely end at a block's end, so it reads most blocks twice (the
     * rest of the block at its next fetch). Read-ahead blocks used to enter Caffeine at their first
     * read, where a full cache of more popular blocks rejected them at once, so the second read
     * loaded the block again while the reader waited (a 16 KiB replay loaded a quarter of its blocks
     * twice). The block a stream is in now stays outside Caffeine until the stream reads another.
     */
    @Test
    void aBlockReadInTwoPartsIsLoadedOnceEvenWhenTheCacheIsFullOfPopularBlocks() {
        CountingLoader loader = new CountingLoader(alloc, false);
        BlockCache cache = fullOfPopularBlocks(loader);
        long loadedBefore = loader.blocksLoaded();
        long missesBefore = cache.stats().misses();
        int n = layout.totalBlocks();
        for (int i = 0; i < n; i++) {
            readAndCheck(cache, 1, layout.block(1, i)); // the first part of the block
            cache.cleanUp(); // Caffeine's maintenance (admission, eviction) between the two fetches
            readAndCheck(cache, 1, layout.block(1, i)); // the rest, at the next fetch
        }
        assertThat(loader.blocksLoaded() - loadedBefore).as("each block loaded once").isEqualTo(n);
        assertThat(cache.stats().misses() - missesBefore).as("only the reads before read-ahead started waited")
                .isLessThanOrEqualTo(2);
        assertThat(cache.stats().readingBytes()).as("the block the stream is in").isEqualTo(BLOCK);
        readAndCheck(cache, 9, new BlockRef(9_999, 0, BLOCK)); // the stream moves on: nothing held for it
        readAndCheck(cache, 1, new BlockRef(9_999, 2, BLOCK));
        assertThat(cache.stats().readingBytes()).isZero();
    }

    @Test
    void randomScanMakesNoPrefetches() {
        CountingLoader loader = new CountingLoader(alloc, false);
        BlockCache cache = build(builder(loader));
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < layout.totalBlocks(); i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(42));
        // Make sure no two consecutive reads are adjacent blocks, so the scan really is random.
        for (int i = 1; i < order.size(); i++) {
            if (Math.abs(order.get(i) - order.get(i - 1)) == 1) {
                Collections.swap(order, i, (i + order.size() / 2) % order.size());
            }
        }
        for (int i : order) {
            readAndCheck(cache, 1, layout.block(1, i));
        }
        long adjacentPairs = 0;
        for (int i = 1; i < order.size(); i++) {
            adjacentPairs += order.get(i) == order.get(i - 1) + 1 ? 1 : 0;
        }
        assertThat(adjacentPairs).isZero();
        assertThat(cache.stats().prefetchedBytes()).isZero();
        assertThat(loader.calls).hasSize(layout.totalBlocks());
        assertThat(cache.readAheadWindowBytes(1)).isZero();
    }

    @Test
    void readAheadFollowsTheStreamIntoItsNextObject() {
        CountingLoader loader = new CountingLoader(alloc, false);
        BlockCache cache = build(builder(loader));
        for (int i = 0; i < 20; i++) { // object 100 has blocks 0..15, then object 101
            readAndCheck(cache, 1, layout.block(1, i));
        }
        assertThat(loader.calls).anyMatch(c -> c.objectId() == 101 && c.blocks().get(0).blockIndex() == 0
                && c.blocks().size() > 1);
    }

    @Test
    void windowGrowsWhileReaderKeepsUpAndShrinksWhenPrefetchedDataIsUnused() {
        CountingLoader loader = new CountingLoader(alloc, false);
        BlockCache cache = build(builder(loader).prefetchTtl(Duration.ofSeconds(10)));
        readAndCheck(cache, 1, layout.block(1, 0));
        assertThat(cache.readAheadWindowBytes(1)).isZero();
        readAndCheck(cache, 1, layout.block(1, 1));
        assertThat(cache.readAheadWindowBytes(1)).isEqualTo(256 << 10);
        for (int i = 2; i < 12; i++) {
            readAndCheck(cache, 1, layout.block(1, i));
        }
        assertThat(cache.readAheadWindowBytes(1)).isEqualTo(2 << 20);
        // The reader stops; the prefetched blocks it never read expire.
        long prefetched = cache.stats().prefetchedBytes();
        long read = 12L * BLOCK;
        ticker.advance(Duration.ofSeconds(11));
        cache.cleanUp();
        BlockCacheStats s = cache.stats();
        assertThat(s.prefetchedUnusedBytes()).isPositive();
        assertThat(s.prefetchedUnusedBytes()).isLessThanOrEqualTo(prefetched);
        assertThat(s.cachedBytes()).isLessThanOrEqualTo(read); // only blocks that were read stay
        assertThat(cache.readAheadWindowBytes(1)).isLessThan(2 << 20);
    }

    @Test
    void prefetchedDataReadBeforeTtlStaysAndIsNotCountedUnused() {
        CountingLoader loader = new CountingLoader(alloc, false);
        BlockCache cache = build(builder(loader).prefetchTtl(Duration.ofSeconds(10)));
        for (int i = 0; i < 8; i++) {
            readAndCheck(cache, 1, layout.block(1, i));
        }
        long prefetchedAhead = cache.stats().loadedBytes() - 8L * BLOCK;
        ticker.advance(Duration.ofSeconds(11));
        cache.cleanUp();
        assertThat(cache.stats().prefetchedUnusedBytes()).isEqualTo(prefetchedAhead);
        assertThat(cache.stats().cachedBytes()).isEqualTo(8L * BLOCK);
    }

    @Test
    void readerWaitingOnInFlightPrefetchJoinsItInsteadOfLoadingAgain() {
        CountingLoader loader = new CountingLoader(alloc, true);
        BlockCache cache = build(builder(loader));
        CompletableFuture<ByteBuf> r0 = cache.read(1, layout.block(1, 0));
        loader.completeNext();
        r0.join().release();
        CompletableFuture<ByteBuf> r1 = cache.read(1, layout.block(1, 1)); // sequential: demand + read-ahead
        assertThat(loader.calls).hasSize(2);
        assertThat(loader.calls.get(1).blocks().size()).isGreaterThan(1); // coalesced with the demand block
        CompletableFuture<ByteBuf> r2 = cache.read(1, layout.block(1, 2));
        // Block 2 was not loaded again (the reader joined the pending run); the reader caught up
        // with read-ahead, so the window grew and the next blocks were requested.
        assertThat(loader.calls.stream().filter(c -> c.blocks().contains(layout.block(1, 2)))).hasSize(1);
        assertThat(cache.readAheadWindowBytes(1)).isEqualTo(512 << 10);
        while (loader.waitingCalls() > 0) {
            loader.completeNext();
        }
        r1.join().release();
        r2.join().release();
    }

    @Test
    void readAheadStaysWithinItsShareOfTheBudgetAndShrinks() {
        CountingLoader loader = new CountingLoader(alloc, true);
        BlockCache cache = build(builder(loader).maxInFlightBytes(4L * BLOCK).prefetchBudgetFraction(0.5));
        CompletableFuture<ByteBuf> r0 = cache.read(1, layout.block(1, 0));
        loader.completeNext();
        r0.join().release();
        CompletableFuture<ByteBuf> r1 = cache.read(1, layout.block(1, 1));
        // The demand run may carry adjacent read-ahead; separate read-ahead runs need free budget.
        assertThat(cache.stats().inFlightBytes()).isLessThanOrEqualTo(4L * BLOCK);
        while (loader.waitingCalls() > 0) {
            loader.completeNext();
        }
        r1.join().release();
        for (int i = 2; i < 40; i++) {
            CompletableFuture<ByteBuf> r = cache.read(1, layout.block(1, i));
            assertThat(cache.stats().inFlightBytes()).isLessThanOrEqualTo(4L * BLOCK);
            while (loader.waitingCalls() > 0) {
                loader.completeNext();
            }
            r.join().release();
        }
        assertThat(cache.stats().skippedPrefetches()).isPositive();
        // The window never exceeds read-ahead's share of the budget (2 blocks here).
        assertThat(cache.readAheadWindowBytes(1)).isEqualTo(2L * BLOCK);
        assertThat(cache.stats().prefetchedBytes()).isPositive();
    }

    /**
     * Regression: unread read-ahead holds in-flight budget until read; a demand load that had to wait
     * behind it, with no load in flight, was never started.
     */
    @Test
    void demandReadWaitingBehindUnreadReadAheadReclaimsItsBudget() {
        CountingLoader loader = new CountingLoader(alloc, false);
        BlockCache cache = build(builder(loader).maxInFlightBytes(4L * BLOCK).prefetchBudgetFraction(1.0)
                .initialWindowBytes(4L * BLOCK).maxWindowBytes(4L * BLOCK));
        readAndCheck(cache, 1, layout.block(1, 0));
        readAndCheck(cache, 1, layout.block(1, 1));
        BlockCacheStats before = cache.stats();
        assertThat(before.prefetchedUnreadBytes()).isEqualTo(4L * BLOCK);
        assertThat(before.inFlightBytes()).isEqualTo(4L * BLOCK);
        CompletableFuture<ByteBuf> other = cache.read(2, layout.block(2, 7));
        assertThat(other).isDone();
        ByteBuf b = other.join();
        assertThat(b.getLong(b.readerIndex())).isEqualTo(CountingLoader.tag(200, 7));
        b.release();
        assertThat(cache.stats().prefetchedUnusedBytes()).isPositive();
    }

    @Test
    void readOnceDropsBlocksASequentialReaderHasRead() {
        CountingLoader loader = new CountingLoader(alloc, false);
        BlockCache once = build(builder(loader).readOnceSequential(true));
        BlockCache normal = build(builder(new CountingLoader(alloc, false)));
        for (int i = 0; i < 32; i++) {
            readAndCheck(once, 1, layout.block(1, i));
            readAndCheck(normal, 1, layout.block(1, i));
        }
        once.cleanUp();
        normal.cleanUp();
        // The block the reader is in stays outside Caffeine until it reads another.
        assertThat(normal.stats().cachedBytes()).isGreaterThanOrEqualTo(31L * BLOCK);
        // Only read-ahead that is not read yet, and the first blocks read before the stream was
        // known to be sequential, stay.
        assertThat(once.stats().cachedBytes()).isLessThanOrEqualTo(2L * BLOCK + (2 << 20));
        assertThat(once.stats().cachedBytes()).isLessThan(normal.stats().cachedBytes());
    }

    /**
     * A locator that, like the engine's, sees into the next object only once that object's index is
     * known; {@link #learn} makes it known.
     */
    private final class PartlyKnownLayout implements BlockLocator {
        final java.util.Set<Long> known = java.util.concurrent.ConcurrentHashMap.newKeySet();

        @Override
        public List<BlockRef> blocksAfter(long streamId, BlockRef block, long maxBytes) {
            List<BlockRef> out = new ArrayList<>();
            for (BlockRef r : layout.blocksAfter(streamId, block, maxBytes)) {
                if (r.objectId() != block.objectId() && !known.contains(r.objectId())) {
                    break; // the next object's index is still being fetched
                }
                out.add(r);
            }
            return out;
        }
    }

    @Test
    void aScanCrossingIntoAnObjectReadAheadCouldNotSeeStaysSequential() {
        CountingLoader loader = new CountingLoader(alloc, false);
        PartlyKnownLayout locator = new PartlyKnownLayout();
        locator.known.add(100L);
        BlockCache cache = build(builder(loader).locator(locator));
        for (int i = 0; i < 16; i++) { // all of object 100; read-ahead stops at its end
            readAndCheck(cache, 1, layout.block(1, i));
        }
        long window = cache.readAheadWindowBytes(1);
        assertThat(window).isGreaterThan(256 << 10);
        locator.known.add(101L); // the reader opened object 101 itself
        readAndCheck(cache, 1, layout.block(1, 16));
        // Not a new random read: the window is kept (no prefetch paid off, so the same) and the
        // demand load of block 0 carries read-ahead of the blocks after it.
        assertThat(cache.readAheadWindowBytes(1)).isEqualTo(window);
        assertThat(loader.calls).anyMatch(c -> c.objectId() == 101 && c.blocks().size() > 1);
    }

    @Test
    void aRandomReadInAnotherObjectStillResetsReadAhead() {
        CountingLoader loader = new CountingLoader(alloc, false);
        BlockCache cache = build(builder(loader));
        for (int i = 0; i < 4; i++) {
            readAndCheck(cache, 1, layout.block(1, i));
        }
        assertThat(cache.readAheadWindowBytes(1)).isPositive();
        readAndCheck(cache, 1, layout.block(1, 40)); // object 102, not where the stream continues
        assertThat(cache.readAheadWindowBytes(1)).isZero();
    }

    @Test
    void resumedReadAheadCrossesIntoTheNextObjectWithoutAnotherRead() {
        CountingLoader loader = new CountingLoader(alloc, false);
        PartlyKnownLayout locator = new PartlyKnownLayout();
        locator.known.add(100L);
        BlockCache cache = build(builder(loader).locator(locator));
        for (int i = 0; i < 14; i++) {
            readAndCheck(cache, 1, layout.block(1, i));
        }
        assertThat(loader.calls).noneMatch(c -> c.objectId() == 101);
        cache.resumeReadAhead(1); // nothing new to see: no loads
        assertThat(loader.calls).noneMatch(c -> c.objectId() == 101);
        int callsBefore = loader.calls.size();
        locator.known.add(101L); // the index of object 101 arrived
        cache.resumeReadAhead(1);
        assertThat(loader.calls.size()).isGreaterThan(callsBefore);
        assertThat(loader.calls.get(callsBefore).objectId()).isEqualTo(101);
        assertThat(loader.calls.get(callsBefore).blocks().get(0).blockIndex()).isZero();
        // The reader then finds object 101's blocks prefetched: no demand load for them.
        int callsAfterResume = loader.calls.size();
        for (int i = 14; i < 20; i++) {
            readAndCheck(cache, 1, layout.block(1, i));
        }
        for (int i = callsAfterResume; i < loader.calls.size(); i++) {
            assertThat(loader.calls.get(i).blocks()).doesNotContain(layout.block(1, 16), layout.block(1, 17));
        }
        assertThat(cache.stats().inFlightBytes()).isLessThanOrEqualTo((long) (0.75 * (64L << 20)));
    }

    @Test
    void resumeDoesNothingForAStreamThatIsNotSequentialOrAfterClose() {
        CountingLoader loader = new CountingLoader(alloc, false);
        BlockCache cache = build(builder(loader));
        cache.resumeReadAhead(7); // never read
        readAndCheck(cache, 1, layout.block(1, 0)); // one read: not sequential yet
        cache.resumeReadAhead(1);
        assertThat(loader.calls).hasSize(1);
        readAndCheck(cache, 1, layout.block(1, 1));
        int calls = loader.calls.size();
        cache.close();
        cache.resumeReadAhead(1);
        assertThat(loader.calls).hasSize(calls);
    }

    @Test
    void resumedReadAheadNeverExceedsItsShareOfTheBudget() {
        CountingLoader loader = new CountingLoader(alloc, true); // loads stay in flight
        PartlyKnownLayout locator = new PartlyKnownLayout();
        locator.known.add(100L);
        long budget = 16L * BLOCK;
        BlockCache cache = build(builder(loader).locator(locator).maxInFlightBytes(budget)
                .initialWindowBytes(8L * BLOCK).maxWindowBytes(16L * BLOCK));
        CompletableFuture<ByteBuf> r0 = cache.read(1, layout.block(1, 0));
        loader.completeNext();
        r0.join().release();
        CompletableFuture<ByteBuf> r1 = cache.read(1, layout.block(1, 1));
        for (long o = 101; o < 104; o++) {
            locator.known.add(o);
            cache.resumeReadAhead(1);
            assertThat(cache.stats().inFlightBytes()).isLessThanOrEqualTo(budget);
        }
        while (loader.waitingCalls() > 0) {
            loader.completeNext();
        }
        r1.join().release();
        assertThat(cache.stats().inFlightBytes()).isLessThanOrEqualTo((long) (0.75 * budget));
    }

    @Test
    void readAheadOfAStreamThatStoppedGoesToAStreamThatReads() {
        CountingLoader loader = new CountingLoader(alloc, false);
        BlockCache cache = build(builder(loader).maxInFlightBytes(4L << 20).prefetchTtl(Duration.ofMinutes(10)));
        for (int i = 0; i < 8; i++) {
            readAndCheck(cache, 1, layout.block(1, i)); // then stream 1's reader stops, read-ahead unread
        }
        long unreadOfStream1 = cache.stats().prefetchedUnreadBytes();
        assertThat(unreadOfStream1).isGreaterThan(1L << 20);
        ticker.advance(BlockCache.DEFAULT_IDLE_STREAM_TIME);
        for (int i = 0; i < 8; i++) {
            readAndCheck(cache, 2, layout.block(2, i));
        }
        BlockCacheStats s = cache.stats();
        assertThat(s.skippedPrefetches()).isZero();
        assertThat(s.prefetchedUnusedBytes()).isEqualTo(unreadOfStream1); // stream 1's were dropped, and counted
        assertThat(s.inFlightBytes()).isLessThanOrEqualTo(3L << 20); // read-ahead's share of the budget
        assertThat(loader.calls).anyMatch(c -> c.objectId() == 200 && c.blocks().get(0).blockIndex() >= 8);
    }

    @Test
    void readAheadOfAStreamStillReadingIsNotTakenByAnother() {
        CountingLoader loader = new CountingLoader(alloc, false);
        BlockCache cache = build(builder(loader).maxInFlightBytes(4L << 20).prefetchTtl(Duration.ofMinutes(10)));
        for (int i = 0; i < 8; i++) {
            readAndCheck(cache, 1, layout.block(1, i));
        }
        long unreadOfStream1 = cache.stats().prefetchedUnreadBytes();
        ticker.advance(BlockCache.DEFAULT_IDLE_STREAM_TIME.minusMillis(1)); // stream 1 is not idle yet
        for (int i = 0; i < 8; i++) {
            readAndCheck(cache, 2, layout.block(2, i));
        }
        BlockCacheStats s = cache.stats();
        assertThat(s.prefetchedUnusedBytes()).isZero();
        assertThat(s.skippedPrefetches()).isPositive(); // stream 2 had to do without
        assertThat(s.prefetchedUnreadBytes()).isGreaterThanOrEqualTo(unreadOfStream1);
        assertThat(s.inFlightBytes()).isLessThanOrEqualTo(3L << 20);
    }
}
