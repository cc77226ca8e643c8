package dev.strata.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A LogCache with a slab allocator keeps inserted batches as slab positions (no buffer object per
 * batch), serves their bytes through views, and gives every slab back once evicted batches, views
 * and sealed blocks are all let go.
 */
class LogCacheSlabsTest {
    private static final int BATCH = 4144;

    private static ByteBuf filled(LogCache cache, long tag, int size) {
        ByteBuf b = cache.allocate(size);
        b.writeLong(tag).writeZero(size - Long.BYTES);
        return b;
    }

    @Test
    void insertedSlabBufferIsDroppedAndItsBytesStayReadable() {
        RecordingAllocator slabs = new RecordingAllocator();
        try (LogCache cache = LogCache.builder().capacityBytes(16 << 20).blockSizeBytes(1 << 20)
                .slabAllocator(slabs).build()) {
            ByteBuf inserted = filled(cache, 42, BATCH);
            cache.insert(7, 0, 3, BATCH - 48, inserted);
            assertThat(inserted.refCnt()).as("the cache keeps a slab position, not the buffer").isZero();
            try (LogCacheFetch f = cache.fetch(7, 1, Long.MAX_VALUE, Integer.MAX_VALUE)) {
                assertThat(f.isHit()).isTrue();
                CachedBatch b = f.batches().get(0);
                assertThat(b.baseOffset()).isZero();
                assertThat(b.count()).isEqualTo(3);
                assertThat(b.sizeBytes()).isEqualTo(BATCH - 48);
                assertThat(b.data().readableBytes()).isEqualTo(BATCH);
                assertThat(TestBuffers.tag(b.data())).isEqualTo(42);
            }
            assertThat(slabs.live()).as("the open slab, and spares taken ahead of need").isPositive();
        }
        assertThat(slabs.live()).as("closing the cache frees the open slab and the spares").isZero();
    }

    @Test
    void everySlabIsFreedOnceEvictedBatchesViewsAndSealedBlocksAreLetGo() {
        RecordingAllocator slabs = new RecordingAllocator();
        int perStream = 600; // ~2.4 MiB per stream: several slabs and blocks
        LogCacheFetch held;
        SealedBlock sealedHeld;
        try (LogCache cache = LogCache.builder().capacityBytes(8 << 20).blockSizeBytes(1 << 20)
                .slabAllocator(slabs).build()) {
            for (int i = 0; i < perStream; i++) {
                for (long stream = 1; stream <= 2; stream++) {
                    assertThat(cache.insert(stream, i, 1, BATCH, filled(cache, stream * 1_000_000 + i, BATCH)))
                            .isEqualTo(InsertStatus.OK);
                }
            }
            held = cache.fetch(1, 0, 5, Integer.MAX_VALUE); // a reader still holding the oldest batches
            List<SealedBlock> sealed = cache.sealForUpload();
            sealedHeld = sealed.get(0); // an upload still reading the first block
            List<Long> tags = new ArrayList<>();
            for (CachedBatch b : sealedHeld.batches()) {
                tags.add(TestBuffers.tag(b.data()));
            }
            assertThat(tags).startsWith(1_000_000L, 2_000_000L, 1_000_001L);
            for (SealedBlock s : sealed) {
                cache.markUploaded(s.id());
                if (s != sealedHeld) {
                    s.close();
                }
            }
            assertThat(cache.hasRoomFor(8 << 20)).isTrue(); // evicts every block
            assertThat(cache.usedBytes()).isZero();
            assertThat(cache.fetch(1, 0, Long.MAX_VALUE, 100).isHit()).isFalse();
            // Still readable through what was handed out before the eviction.
            assertThat(held.batches()).hasSize(5);
            for (int i = 0; i < 5; i++) {
                assertThat(TestBuffers.tag(held.batches().get(i).data())).isEqualTo(1_000_000L + i);
            }
            assertThat(slabs.live()).as("slabs of held views and of the held sealed block stay").isPositive();
        }
        held.close();
        sealedHeld.close();
        assertThat(slabs.live()).isZero();
    }

    @Test
    void largeBatchesAndForeignBuffersAreKeptAsBuffers() {
        RecordingAllocator slabs = new RecordingAllocator();
        try (LogCache cache = LogCache.builder().capacityBytes(16 << 20).blockSizeBytes(1 << 20)
                .slabAllocator(slabs).build()) {
            ByteBuf large = filled(cache, 5, 64 << 10); // above the largest carved size: a buffer of its own
            ByteBuf foreign = TestBuffers.tagged(6, 100);
            cache.insert(1, 0, 1, 64 << 10, large);
            cache.insert(1, 1, 1, 100, foreign);
            assertThat(large.refCnt()).isEqualTo(1);
            assertThat(foreign.refCnt()).isEqualTo(1);
            try (LogCacheFetch f = cache.fetch(1, 0, Long.MAX_VALUE, Integer.MAX_VALUE)) {
                assertThat(f.batches()).extracting(b -> TestBuffers.tag(b.data())).containsExactly(5L, 6L);
            }
            cache.close();
            assertThat(large.refCnt()).isZero();
            assertThat(foreign.refCnt()).isZero();
        }
        assertThat(slabs.live()).isZero();
    }
}
