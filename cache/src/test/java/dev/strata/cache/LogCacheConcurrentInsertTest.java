package dev.strata.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.RepeatedTest;

/**
 * Inserts of different streams run concurrently (they share only the LogCache's read lock). This
 * checks the invariants the engine and its uploader rely on while several threads insert and one
 * thread seals, uploads and evicts, as the Uploader does:
 * <ul>
 *   <li>every batch is handed to the uploader exactly once, and each stream's batches reach it in
 *       offset order, contiguous, across and within blocks;</li>
 *   <li>sealForUpload covers every insert that returned before it was called (the engine pairs
 *       the sealed blocks with the WAL position those inserts reached, and trims the WAL there);</li>
 *   <li>the byte accounting is exact (what was inserted is either held or evicted), blocks are
 *       sealed by size close to blockSizeBytes, and once everything is uploaded it can all be
 *       evicted; no buffer leaks, no wrong bytes.</li>
 * </ul>
 */
class LogCacheConcurrentInsertTest {
    private static final int WRITERS = 4;
    private static final int STREAMS_PER_WRITER = 3;
    /** Offsets each stream gets (a batch holds 1 or 2 records). */
    private static final int OFFSETS_PER_STREAM = 3000;
    private static final int MAX_BATCH_BYTES = 256;
    private static final long BLOCK_BYTES = 4096;

    @RepeatedTest(3)
    void concurrentInsertsKeepStreamOrderSealingCoverageAndExactAccounting() throws Exception {
        PooledByteBufAllocator alloc = new PooledByteBufAllocator(true);
        LogCache cache = LogCache.builder().capacityBytes(64 * 1024).blockSizeBytes(BLOCK_BYTES).build();
        int streams = WRITERS * STREAMS_PER_WRITER;
        AtomicLongArray returnedEnd = new AtomicLongArray(streams); // per stream: inserts returned below this
        AtomicLongArray insertedBytes = new AtomicLongArray(WRITERS);
        AtomicInteger writersDone = new AtomicInteger();
        List<Throwable> errors = new ArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            int writer = w;
            threads.add(new Thread(Concurrently.guarded(errors, start, () -> {
                SplittableRandom random = new SplittableRandom(writer);
                long[] next = new long[STREAMS_PER_WRITER];
                for (;;) {
                    int k = random.nextInt(STREAMS_PER_WRITER); // a random stream of this writer not done yet
                    for (int tries = 0; tries < STREAMS_PER_WRITER && next[k] >= OFFSETS_PER_STREAM; tries++) {
                        k = (k + 1) % STREAMS_PER_WRITER;
                    }
                    if (next[k] >= OFFSETS_PER_STREAM) {
                        break;
                    }
                    int stream = writer * STREAMS_PER_WRITER + k;
                    int count = 1 + random.nextInt(2);
                    int size = 16 + random.nextInt(MAX_BATCH_BYTES - 16 + 1);
                    ByteBuf data = alloc.directBuffer(size).writeLong(tag(stream, next[k])).writeZero(size - 8);
                    cache.insert(stream, next[k], count, size, data);
                    insertedBytes.addAndGet(writer, size);
                    next[k] += count;
                    returnedEnd.set(stream, next[k]);
                }
                writersDone.incrementAndGet();
            }), "insert-" + w));
        }
        long[] sealedEnd = new long[streams];
        long[] lastBlockId = {-1};
        long[] sealedBlocks = {0};
        threads.add(new Thread(Concurrently.guarded(errors, start, () -> {
            boolean last = false;
            while (!last) {
                last = writersDone.get() == WRITERS; // read before sealing: the final seal sees everything
                long[] before = new long[streams];
                for (int s = 0; s < streams; s++) {
                    before[s] = returnedEnd.get(s);
                }
                List<SealedBlock> sealed = cache.sealForUpload();
                for (SealedBlock block : sealed) {
                    assertThat(block.id()).as("block ids increase").isGreaterThan(lastBlockId[0]);
                    lastBlockId[0] = block.id();
                    long bytes = 0;
                    for (CachedBatch b : block.batches()) {
                        int s = (int) b.streamId();
                        assertThat(b.baseOffset()).as("stream %d: in order, contiguous, once", s).isEqualTo(sealedEnd[s]);
                        assertThat(TestBuffers.tag(b.data())).as("bytes of stream %d at %d", s, b.baseOffset())
                                .isEqualTo(tag(s, b.baseOffset()));
                        sealedEnd[s] = b.nextOffset();
                        bytes += b.memoryBytes();
                    }
                    assertThat(block.memoryBytes()).isEqualTo(bytes);
                    // sealed by size: at most what inserts racing with the sealing insert added
                    assertThat(bytes).isLessThan(BLOCK_BYTES + (long) WRITERS * MAX_BATCH_BYTES);
                    cache.markUploaded(block.id());
                    block.close();
                    sealedBlocks[0]++;
                }
                for (int s = 0; s < streams; s++) {
                    assertThat(sealedEnd[s]).as("stream %d: inserts returned before sealForUpload are sealed", s)
                            .isGreaterThanOrEqualTo(before[s]);
                }
                if (sealed.isEmpty()) {
                    Thread.yield();
                }
            }
        }), "uploader"));
        threads.forEach(Thread::start);
        start.countDown();
        for (Thread t : threads) {
            t.join();
        }
        assertThat(errors).isEmpty();
        long total = 0;
        for (int w = 0; w < WRITERS; w++) {
            total += insertedBytes.get(w);
        }
        for (int s = 0; s < streams; s++) {
            assertThat(sealedEnd[s]).isEqualTo(returnedEnd.get(s)).isGreaterThanOrEqualTo(OFFSETS_PER_STREAM);
        }
        assertThat(sealedBlocks[0]).isGreaterThan(total / (BLOCK_BYTES + (long) WRITERS * MAX_BATCH_BYTES));
        assertThat(cache.unuploadedBytes()).isZero();
        LogCacheStats stats = cache.stats();
        assertThat(stats.usedBytes() + stats.evictedBytes()).as("held + evicted = inserted").isEqualTo(total);
        assertThat(cache.usedBytes()).isLessThanOrEqualTo(cache.capacityBytes());
        assertThat(cache.hasRoomFor(cache.capacityBytes())).as("everything uploaded can be evicted").isTrue();
        assertThat(cache.usedBytes()).isZero();
        cache.close();
        assertThat(BlockCacheTest.activeAllocations(alloc)).isZero();
    }

    private static long tag(long stream, long offset) {
        return stream << 40 | offset;
    }
}
