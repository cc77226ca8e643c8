package dev.strata.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.BackpressureException;
import io.netty.buffer.ByteBuf;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LogCacheTest {
    private LogCache cache = LogCache.builder().capacityBytes(1000).blockSizeBytes(300).build();

    @AfterEach
    void close() {
        cache.close();
    }

    private InsertStatus insert(long stream, long base, int count, int size) {
        return cache.insert(stream, base, count, size, TestBuffers.tagged(stream * 1_000_000 + base, size));
    }

    @Test
    void tailFetchReturnsSharedBuffersWithoutCopy() {
        insert(1, 0, 10, 100);
        try (LogCacheFetch f = cache.fetch(1, 0, Long.MAX_VALUE, 1000);
                LogCacheFetch g = cache.fetch(1, 0, Long.MAX_VALUE, 1000)) {
            assertThat(f.isHit()).isTrue();
            ByteBuf a = f.batches().get(0).data();
            ByteBuf b = g.batches().get(0).data();
            assertThat(TestBuffers.tag(a)).isEqualTo(1_000_000L);
            assertThat(a).isNotSameAs(b);
            // Same memory: two views of the one cached buffer, no copy.
            assertThat(a.memoryAddress() + a.readerIndex()).isEqualTo(b.memoryAddress() + b.readerIndex());
        }
    }

    @Test
    void fetchStartsAtBatchContainingStartOffset() {
        insert(1, 0, 10, 50);
        insert(1, 10, 10, 50);
        insert(1, 20, 10, 50);
        try (LogCacheFetch f = cache.fetch(1, 15, Long.MAX_VALUE, 1000)) {
            assertThat(f.batches()).extracting(CachedBatch::baseOffset).containsExactly(10L, 20L);
            assertThat(f.nextOffset()).isEqualTo(30);
        }
    }

    @Test
    void fetchReturnsFirstBatchEvenAboveMaxBytesThenStopsBeforeExceeding() {
        insert(1, 0, 1, 200);
        insert(1, 1, 1, 50);
        try (LogCacheFetch f = cache.fetch(1, 0, Long.MAX_VALUE, 10)) {
            assertThat(f.batches()).extracting(CachedBatch::baseOffset).containsExactly(0L);
        }
        try (LogCacheFetch f = cache.fetch(1, 0, Long.MAX_VALUE, 249)) {
            assertThat(f.batches()).hasSize(1);
        }
        try (LogCacheFetch f = cache.fetch(1, 0, Long.MAX_VALUE, 250)) {
            assertThat(f.batches()).hasSize(2);
        }
    }

    @Test
    void fetchStopsBeforeBatchWhoseBaseReachesEndOffset() {
        insert(1, 0, 5, 10);
        insert(1, 5, 5, 10);
        try (LogCacheFetch f = cache.fetch(1, 0, 5, 1000)) {
            assertThat(f.batches()).extracting(CachedBatch::baseOffset).containsExactly(0L);
        }
    }

    @Test
    void fetchAtEndIsEmptyHitAndBelowCachedRangeIsMiss() {
        insert(1, 100, 5, 10);
        try (LogCacheFetch f = cache.fetch(1, 105, Long.MAX_VALUE, 1000)) {
            assertThat(f.isHit()).isTrue();
            assertThat(f.batches()).isEmpty();
            assertThat(f.nextOffset()).isEqualTo(105);
        }
        assertThat(cache.fetch(1, 99, Long.MAX_VALUE, 1000).isHit()).isFalse();
        assertThat(cache.fetch(1, 106, Long.MAX_VALUE, 1000).isHit()).isFalse();
        assertThat(cache.fetch(2, 0, Long.MAX_VALUE, 1000).isHit()).isFalse();
        assertThat(cache.stats().hits()).isEqualTo(1);
        assertThat(cache.stats().misses()).isEqualTo(3);
    }

    @Test
    void nonContiguousInsertIsRejectedAndItsBufferReleased() {
        insert(1, 0, 5, 10);
        ByteBuf buf = TestBuffers.tagged(7, 10);
        assertThatThrownBy(() -> cache.insert(1, 6, 1, 10, buf)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expectedBase=5");
        assertThat(buf.refCnt()).isZero();
        assertThat(cache.usedBytes()).isEqualTo(10);
    }

    @Test
    void fullOfUnuploadedDataReportsOverCapacityAndRefusesAdmission() {
        for (int i = 0; i < 10; i++) {
            assertThat(insert(1, i, 1, 100)).isEqualTo(InsertStatus.OK);
        }
        assertThat(cache.hasRoomFor(1)).isFalse();
        assertThatThrownBy(() -> cache.requireRoomFor(1)).isInstanceOf(BackpressureException.class)
                .hasMessageContaining("unuploadedBytes=1000");
        assertThat(insert(1, 10, 1, 100)).isEqualTo(InsertStatus.OVER_CAPACITY);
        assertThat(cache.usedBytes()).isEqualTo(1100);
        assertThat(cache.unuploadedBytes()).isEqualTo(1100);
    }

    @Test
    void reservationsOfAppendsInFlightShareTheLimitWithCachedData() {
        for (int i = 0; i < 5; i++) {
            insert(1, i, 1, 100);
        }
        cache.reserve(300);
        cache.reserve(200);
        assertThat(cache.reservedBytes()).isEqualTo(500);
        assertThat(cache.hasRoomFor(1)).isFalse();
        assertThatThrownBy(() -> cache.reserve(1)).isInstanceOf(BackpressureException.class)
                .hasMessageContaining("reservedBytes=500");
        // insert turns a reservation into cached bytes: the total stays at the limit
        assertThat(cache.insert(1, 5, 1, 300, TestBuffers.tagged(5, 300), 300)).isEqualTo(InsertStatus.OK);
        assertThat(cache.usedBytes()).isEqualTo(800);
        assertThat(cache.reservedBytes()).isEqualTo(200);
        assertThat(cache.hasRoomFor(1)).isFalse();
        // a failed append gives its room back
        cache.cancelReservation(200);
        assertThat(cache.reservedBytes()).isZero();
        cache.reserve(200);
        assertThat(cache.hasRoomFor(1)).isFalse();
    }

    @Test
    void reserveEvictsUploadedBlocksToMakeRoom() {
        for (int i = 0; i < 10; i++) {
            insert(1, i, 1, 100);
        }
        List<SealedBlock> sealed = cache.sealForUpload();
        cache.markUploaded(sealed.get(0).id());
        cache.reserve(250);
        assertThat(cache.usedBytes()).isEqualTo(700);
        assertThat(cache.reservedBytes()).isEqualTo(250);
        assertThatThrownBy(() -> cache.reserve(100)).isInstanceOf(BackpressureException.class);
        sealed.forEach(SealedBlock::close);
    }

    @Test
    void concurrentReservationsNeverPassTheLimit() throws Exception {
        java.util.concurrent.atomic.AtomicLong granted = new java.util.concurrent.atomic.AtomicLong();
        Concurrently.run(4, thread -> {
            for (int i = 0; i < 1000; i++) {
                try {
                    cache.reserve(7);
                    granted.addAndGet(7);
                } catch (BackpressureException e) {
                    // full: expected once 1000 bytes are promised
                }
            }
        });
        assertThat(granted.get()).isEqualTo(cache.reservedBytes()).isLessThanOrEqualTo(1000).isGreaterThan(1000 - 7);
    }

    @Test
    void appendsThatReserveThenInsertNeverPassTheLimit() throws Exception {
        // Each thread: reserve, then insert with the reservation (its own stream); the limit must hold.
        // A stress test of the invariant: the race it guards against (an earlier reserve checked the
        // room, then compare-and-set the reservations, so an insert plus a new reservation in between
        // went unseen) was found by review; this test did not reproduce it on 2 cores.
        LogCache big = LogCache.builder().capacityBytes(64 * 1024).blockSizeBytes(4096).build();
        try {
            java.util.concurrent.atomic.AtomicInteger overCapacity = new java.util.concurrent.atomic.AtomicInteger();
            Concurrently.run(4, thread -> {
                long stream = thread;
                long offset = 0;
                for (int i = 0; i < 20_000; i++) {
                    int size = 16 + (i % 5) * 16;
                    try {
                        big.reserve(size);
                    } catch (BackpressureException e) {
                        continue; // full: nothing is uploaded in this test
                    }
                    if (big.insert(stream, offset, 1, size, TestBuffers.tagged(stream, size), size)
                            == InsertStatus.OVER_CAPACITY) {
                        overCapacity.incrementAndGet();
                    }
                    offset++;
                }
            });
            assertThat(overCapacity.get()).isZero();
            assertThat(big.reservedBytes()).isZero();
            assertThat(big.usedBytes()).isLessThanOrEqualTo(64 * 1024).isGreaterThan(64 * 1024 - 80);
        } finally {
            big.close();
        }
    }

    @Test
    void uploadedBlocksBecomeEvictableOldestFirst() {
        for (int i = 0; i < 10; i++) {
            insert(1, i, 1, 100);
        }
        List<SealedBlock> sealed = cache.sealForUpload();
        assertThat(sealed).extracting(SealedBlock::memoryBytes).containsExactly(300L, 300L, 300L, 100L);
        assertThat(sealed.get(0).batches()).extracting(CachedBatch::baseOffset).containsExactly(0L, 1L, 2L);
        // Uploading the second block alone frees nothing: the oldest block is not uploaded yet.
        cache.markUploaded(sealed.get(1).id());
        assertThat(cache.hasRoomFor(100)).isFalse();
        cache.markUploaded(sealed.get(0).id());
        assertThat(cache.unuploadedBytes()).isEqualTo(400);
        assertThat(cache.usedBytes()).isEqualTo(1000); // nothing evicted until room is needed
        assertThat(cache.hasRoomFor(100)).isTrue();
        assertThat(cache.usedBytes()).isEqualTo(700);
        assertThat(cache.fetch(1, 2, Long.MAX_VALUE, 1000).isHit()).isFalse();
        try (LogCacheFetch f = cache.fetch(1, 3, Long.MAX_VALUE, 1000)) {
            assertThat(f.batches()).hasSize(7);
        }
        assertThat(cache.stats().evictedBlocks()).isEqualTo(1);
        sealed.forEach(SealedBlock::close);
    }

    @Test
    void evictionNeverFreesBufferHeldByReader() {
        for (int i = 0; i < 3; i++) {
            insert(1, i, 1, 100);
        }
        LogCacheFetch held = cache.fetch(1, 0, Long.MAX_VALUE, 1);
        List<SealedBlock> sealed = cache.sealForUpload();
        cache.markUploaded(sealed.get(0).id());
        sealed.forEach(SealedBlock::close);
        assertThat(cache.hasRoomFor(1000)).isTrue();
        assertThat(cache.usedBytes()).isZero();
        assertThat(TestBuffers.tag(held.batches().get(0).data())).isEqualTo(1_000_000L);
        held.close();
        assertThat(held.batches().get(0).data().refCnt()).isZero();
    }

    @Test
    void sealedBlockKeepsItsBuffersUntilClosedAfterEvictionAndCacheClose() {
        for (int i = 0; i < 3; i++) {
            insert(1, i, 1, 100);
        }
        List<SealedBlock> sealed = cache.sealForUpload();
        assertThat(sealed).hasSize(1);
        List<CachedBatch> batches = sealed.get(0).batches();
        cache.markUploaded(sealed.get(0).id());
        assertThat(cache.hasRoomFor(1000)).isTrue(); // evicts the block
        assertThat(cache.usedBytes()).isZero();
        cache.close();
        // The upload still reads every batch: the sealed block holds the only reference left.
        for (int i = 0; i < 3; i++) {
            assertThat(batches.get(i).data().refCnt()).isEqualTo(1);
            assertThat(TestBuffers.tag(batches.get(i).data())).isEqualTo(1_000_000L + i);
        }
        sealed.get(0).close();
        sealed.get(0).close(); // idempotent
        assertThat(batches).allSatisfy(b -> assertThat(b.data().refCnt()).isZero());
    }

    @Test
    void sealedBlockRowsGiveEachBatchOnDemandAndTheViewOutlivesTheBlock() {
        insert(1, 0, 1, 100);
        insert(2, 0, 2, 150);
        insert(1, 1, 1, 120);
        List<SealedBlock> sealed = cache.sealForUpload();
        assertThat(sealed).hasSize(1);
        SealedBlock block = sealed.get(0);
        assertThat(block.size()).isEqualTo(3);
        assertThat(List.of(block.streamId(0), block.streamId(1), block.streamId(2))).containsExactly(1L, 2L, 1L);
        assertThat(List.of(block.encodedBytes(0), block.encodedBytes(1), block.encodedBytes(2))).containsExactly(100, 150, 120);
        ByteBuf second = block.retainedData(1);
        assertThat(second.readableBytes()).isEqualTo(150);
        assertThat(TestBuffers.tag(second)).isEqualTo(TestBuffers.tag(block.batches().get(1).data()));
        assertThatThrownBy(() -> block.streamId(3)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> block.retainedData(-1)).isInstanceOf(IndexOutOfBoundsException.class);
        cache.markUploaded(block.id());
        block.close();
        assertThat(cache.hasRoomFor(1000)).isTrue(); // evicts the block: only the view holds its bytes now
        assertThat(second.refCnt()).isEqualTo(1);
        assertThat(second.readableBytes()).isEqualTo(150);
        assertThatThrownBy(() -> block.retainedData(0)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        second.release();
    }

    @Test
    void cacheEvictionReleasesBuffersOfClosedSealedBlock() {
        ByteBuf data = TestBuffers.tagged(1_000_000L, 100);
        cache.insert(1, 0, 1, 100, data);
        List<SealedBlock> sealed = cache.sealForUpload();
        ByteBuf view = sealed.get(0).batches().get(0).data();
        assertThat(TestBuffers.tag(view)).isEqualTo(1_000_000L);
        sealed.get(0).close();
        assertThat(view.refCnt()).isZero(); // the sealed block's view
        assertThat(data.refCnt()).isEqualTo(1); // the cache's own reference
        cache.markUploaded(sealed.get(0).id());
        assertThat(cache.hasRoomFor(1000)).isTrue();
        assertThat(data.refCnt()).isZero();
    }

    @Test
    void abortedUploadIsOfferedAgain() {
        insert(1, 0, 1, 100);
        List<SealedBlock> first = cache.sealForUpload();
        assertThat(cache.sealForUpload()).isEmpty();
        cache.abortUpload(first.get(0).id());
        first.forEach(SealedBlock::close);
        List<SealedBlock> again = cache.sealForUpload();
        assertThat(again).extracting(SealedBlock::id).containsExactly(first.get(0).id());
        again.forEach(SealedBlock::close);
        assertThatThrownBy(() -> cache.markUploaded(99)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void trimMakesLowerOffsetsMiss() {
        insert(1, 0, 10, 10);
        insert(1, 10, 10, 10);
        cache.trim(1, 12);
        assertThat(cache.fetch(1, 5, Long.MAX_VALUE, 100).isHit()).isFalse();
        try (LogCacheFetch f = cache.fetch(1, 12, Long.MAX_VALUE, 100)) {
            assertThat(f.batches()).extracting(CachedBatch::baseOffset).containsExactly(10L);
        }
    }

    @Test
    void droppedStreamMissesAndMayRestartAtAnyOffset() {
        insert(1, 0, 10, 10);
        cache.dropStream(1);
        assertThat(cache.fetch(1, 0, Long.MAX_VALUE, 100).isHit()).isFalse();
        insert(1, 500, 1, 10);
        try (LogCacheFetch f = cache.fetch(1, 500, Long.MAX_VALUE, 100)) {
            assertThat(f.batches()).hasSize(1);
        }
        assertThat(cache.usedBytes()).isEqualTo(20);
    }

    @Test
    void closeReleasesEverythingAndRefusesInserts() {
        insert(1, 0, 1, 10);
        cache.close();
        ByteBuf buf = TestBuffers.tagged(1, 10);
        assertThatThrownBy(() -> cache.insert(1, 1, 1, 10, buf)).isInstanceOf(IllegalStateException.class);
        assertThat(buf.refCnt()).isZero();
        assertThat(cache.usedBytes()).isZero();
        cache.close();
    }

    @Test
    void builderRejectsInvalidSizes() {
        assertThatThrownBy(() -> LogCache.builder().capacityBytes(0)).hasMessageContaining("capacityBytes");
        assertThatThrownBy(() -> LogCache.builder().capacityBytes(10).blockSizeBytes(11).build())
                .hasMessageContaining("blockSizeBytes=11");
    }
}
