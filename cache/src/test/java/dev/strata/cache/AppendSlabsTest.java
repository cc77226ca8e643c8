package dev.strata.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Append buffers carved from slabs: exact sizes, no overlap, slabs reused once free, and every slab back in the pool at the end. */
class AppendSlabsTest {
    /** 4 KiB appends as the engine encodes them: header plus payload. */
    private static final int BATCH = 4144;
    private static final int PER_SLAB = AppendSlabs.SLAB_BYTES / BATCH;

    @Test
    void buffersHaveTheAskedCapacityAndDoNotOverlap() {
        RecordingAllocator pool = new RecordingAllocator();
        AppendSlabs slabs = new AppendSlabs(pool, 4);
        List<ByteBuf> buffers = new ArrayList<>();
        for (int i = 0; i < PER_SLAB + 10; i++) {
            ByteBuf b = slabs.allocate(BATCH);
            assertThat(b.capacity()).isEqualTo(BATCH);
            assertThat(b.maxCapacity()).isEqualTo(BATCH);
            assertThat(b.writerIndex()).isZero();
            assertThat(b.isDirect()).isTrue();
            while (b.isWritable()) {
                b.writeByte(i);
            }
            buffers.add(b);
        }
        for (int i = 0; i < buffers.size(); i++) {
            ByteBuf b = buffers.get(i);
            for (int j = 0; j < BATCH; j++) {
                assertThat(b.getByte(j)).as("buffer %d byte %d", i, j).isEqualTo((byte) i);
            }
            b.release();
        }
        assertThat(pool.made).as("two slabs for one slab's worth plus ten").hasSize(2);
        slabs.close();
        assertThat(pool.live()).isZero();
    }

    @Test
    void aSlabIsReusedOnceItsLastBufferIsReleasedAndNotBefore() {
        RecordingAllocator pool = new RecordingAllocator();
        AppendSlabs slabs = new AppendSlabs(pool, 4);
        List<ByteBuf> first = carve(slabs, PER_SLAB); // fills slab A
        List<ByteBuf> second = carve(slabs, PER_SLAB); // slab B
        for (int i = 0; i < first.size() - 1; i++) {
            first.get(i).release();
        }
        List<ByteBuf> third = carve(slabs, 1); // A still has a buffer in use: a new slab C
        assertThat(pool.made).hasSize(3);
        first.get(first.size() - 1).release(); // A is free now, and kept
        assertThat(pool.made.get(0).refCnt()).isEqualTo(1);
        third.addAll(carve(slabs, PER_SLAB)); // fills C, then carves from A again
        assertThat(pool.made).as("no new slab: A reused").hasSize(3);

        second.forEach(ByteBuf::release);
        third.forEach(ByteBuf::release);
        slabs.close();
        assertThat(pool.live()).isZero();
    }

    @Test
    void atMostMaxSlabsAreKeptFreedOnesBeyondGoBackToThePool() {
        RecordingAllocator pool = new RecordingAllocator();
        AppendSlabs slabs = new AppendSlabs(pool, 4);
        List<ByteBuf> sixSlabs = carve(slabs, 6 * PER_SLAB);
        ByteBuf seventh = slabs.allocate(BATCH);
        assertThat(pool.made).hasSize(7);
        sixSlabs.forEach(ByteBuf::release);
        assertThat(pool.live()).as("three spares and the open slab: four slabs in all").isEqualTo(4);
        List<ByteBuf> again = carve(slabs, 3 * PER_SLAB); // fills the open slab, then the spares
        assertThat(pool.made).as("spares reused, nothing new from the pool").hasSize(7);
        again.forEach(ByteBuf::release);

        slabs.close(); // frees the spares; the open slab waits for its buffer
        assertThat(pool.live()).isEqualTo(1);
        seventh.release();
        assertThat(pool.live()).isZero();
    }

    @Test
    void aCacheKeepsTheSlabsItsCapacityFillsPlusTwo() {
        assertThat(AppendSlabs.slabsFor(256L << 20)).isEqualTo(258);
        assertThat(AppendSlabs.slabsFor(64L << 10)).isEqualTo(2);
    }

    @Test
    void aRefillThreadTakesSlabsAheadSoAppendsDoNotWaitForThePool() throws Exception {
        CountDownLatch reserveReady = new CountDownLatch(4);
        List<String> takers = new CopyOnWriteArrayList<>();
        RecordingAllocator pool = new RecordingAllocator() {
            @Override
            protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
                takers.add(Thread.currentThread().getName());
                ByteBuf b = super.newDirectBuffer(initialCapacity, maxCapacity);
                if (Thread.currentThread().getName().equals("strata-slab-refill")) {
                    reserveReady.countDown();
                }
                return b;
            }
        };
        AppendSlabs slabs = new AppendSlabs(pool, 16, 4);
        List<ByteBuf> buffers = carve(slabs, 1); // the first slab: no spare yet, the appender takes it
        assertThat(reserveReady.await(10, TimeUnit.SECONDS)).as("four spares taken ahead").isTrue();
        int before = takers.size();
        // The open slab's rest, then three spares: the latch opens as the fourth is taken, so at least
        // three are in place.
        buffers.addAll(carve(slabs, 3 * PER_SLAB));
        List<String> seen = List.copyOf(takers);
        assertThat(seen.subList(before, seen.size())).as("slabs the appender did not take itself")
                .allMatch("strata-slab-refill"::equals);
        assertThat(seen.stream().filter(t -> !t.equals("strata-slab-refill")).count())
                .as("the appender took at most the first slab itself").isLessThanOrEqualTo(1);
        buffers.forEach(ByteBuf::release);
        slabs.close();
        assertThat(pool.live()).isZero();
        assertThat(pool.made.size()).as("never more than the limit").isLessThanOrEqualTo(16);
    }

    private static List<ByteBuf> carve(AppendSlabs slabs, int count) {
        List<ByteBuf> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(slabs.allocate(BATCH));
        }
        return out;
    }

    @Test
    void largeBuffersAndBuffersAfterCloseComeStraightFromThePool() {
        RecordingAllocator pool = new RecordingAllocator();
        AppendSlabs slabs = new AppendSlabs(pool, 4);
        ByteBuf large = slabs.allocate(AppendSlabs.MAX_CARVED_BYTES + 1);
        assertThat(pool.made).hasSize(1);
        assertThat(large.capacity()).isEqualTo(AppendSlabs.MAX_CARVED_BYTES + 1);
        large.release();
        assertThat(pool.live()).isZero();

        slabs.close();
        ByteBuf small = slabs.allocate(BATCH);
        assertThat(pool.made).hasSize(2);
        assertThat(pool.made.get(1).capacity()).isEqualTo(BATCH);
        small.release();
        assertThat(pool.live()).isZero();
    }

    /**
     * Threads carving, writing, checksumming and releasing at once: every buffer keeps its own bytes
     * (no shared NIO view or index between buffers of one slab), and every slab goes back.
     */
    @Test
    void concurrentAppendersEachSeeOnlyTheirOwnBytesAndEverySlabIsFreed() throws Exception {
        RecordingAllocator pool = new RecordingAllocator();
        AppendSlabs slabs = new AppendSlabs(pool, 4);
        int threads = 8;
        int perThread = 3000;
        ExecutorService executor = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                done.add(executor.submit(() -> {
                    start.await();
                    java.util.ArrayDeque<ByteBuf> held = new java.util.ArrayDeque<>();
                    byte[] payload = new byte[BATCH];
                    for (int i = 0; i < perThread; i++) {
                        java.util.Arrays.fill(payload, (byte) (id * 31 + i));
                        ByteBuf b = slabs.allocate(BATCH);
                        b.writeBytes(java.nio.ByteBuffer.wrap(payload).asReadOnlyBuffer()); // the engine's copy path
                        java.util.zip.CRC32C expected = new java.util.zip.CRC32C();
                        expected.update(payload);
                        java.util.zip.CRC32C actual = new java.util.zip.CRC32C();
                        actual.update(b.nioBuffer());
                        assertThat(actual.getValue()).isEqualTo(expected.getValue());
                        held.add(b);
                        if (held.size() > 64) { // release in about the order written, as the LogCache does
                            held.poll().release();
                        }
                    }
                    held.forEach(ByteBuf::release);
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            executor.shutdownNow();
        }
        slabs.close();
        // slabs (about one per PER_SLAB appends, plus spares of threads that raced to replace a full
        // one), not one allocation per append
        assertThat(pool.made.size()).isLessThan(threads * perThread / 16);
        assertThat(pool.live()).isZero();
    }
}
