package dev.strata.core.reliability;

import static dev.strata.api.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.BackpressureException;
import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import io.netty.buffer.PooledByteBufAllocator;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Memory under catch-up load: hundreds of streams hold several times more data than the configured
 * memory (LogCache 4 MiB, BlockCache 2 MiB, in-flight reads 1 MiB); four catch-up readers read
 * every stream from offset 0 (so reads come from objects) while a tail writer appends to a few hot
 * streams and reads each batch back at once. Measured after every fetch: the bytes of live pooled
 * direct buffers (the sum of {@code numActiveBytes()} over
 * {@code PooledByteBufAllocator.DEFAULT.metric().directArenas()}: allocated and not yet released,
 * unlike {@code usedDirectMemory()}, which counts whole chunks the pool keeps from earlier tests) and
 * heap in use. Checked: while writing and while reading, live direct memory grows by at most the
 * configured limits plus 24 MiB for buffers no limit covers and chunk granularity, far below the data read; heap retained after a GC stays bounded; no OOM; every byte read is
 * exact; tail reads keep completing quickly during the catch-up.
 * CI: 200 streams x 100 batches (~40 MiB); long: 500 streams x 300 batches.
 */
class MemoryUnderLoadTest {
    private static final int STREAMS = Campaigns.LONG ? 500 : 200;
    private static final int BATCHES = Integer.getInteger("strata.memory.batches", Campaigns.LONG ? 300 : 100);
    /** Catch-up readers: as many as the store's read threads (see {@link #asManyCatchUpReadersAsReadThreadsDoNotDeadlock}). */
    private static final int READERS = Integer.getInteger("strata.memory.readers", 4);
    private static final long LOG_CACHE = 4L << 20;
    private static final long BLOCK_CACHE = 2L << 20;
    private static final long IN_FLIGHT = 1L << 20;
    /**
     * Slack over the configured limits for buffers no limit covers: objects being uploaded (written
     * in parallel, open blocks and parts in flight), encoded appends on their way to the WAL, the
     * readers' own results; and the arena metric moves in steps of whole 4 MiB chunks (measured
     * peaks: 16 MiB writing, 20 MiB reading, against 7 MiB of configured limits).
     */
    private static final long DIRECT_SLACK = 24L << 20;
    /** Heap still in use after the load and a GC: indexes and metadata of ~200 streams, not the data read. */
    private static final long HEAP_RETAINED_LIMIT = 96L << 20;

    @TempDir
    Path dir;

    @Test
    void catchUpReadersOnHundredsOfStreamsStayWithinMemoryLimitsAndTailReadsFlow() throws Exception {
        runLoad(READERS, BATCHES, true);
    }

    private void runLoad(int readerCount, int batchesPerStream, boolean checkMemory) throws Exception {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        System.gc();
        long heapBaseline = memory.getHeapMemoryUsage().getUsed();
        long directBaseline = liveDirect();
        long poolBaseline = usedDirect();
        AtomicLong maxDirect = new AtomicLong(directBaseline);
        AtomicLong maxHeap = new AtomicLong();
        AtomicLong bytesRead = new AtomicLong();
        AtomicLong batchesRead = new AtomicLong();
        Campaigns.Ledger ledger = new Campaigns.Ledger();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(4, readerCount) + 1);
        try (DurableStreamStore store = Campaigns.smallBuilder(dir).walCapacity(32L << 20).logCacheBytes(LOG_CACHE)
                .blockCacheBytes(BLOCK_CACHE).maxInFlightReadBytes(IN_FLIGHT).uploadThresholdBytes(1L << 20)
                .appendBackpressureWait(java.time.Duration.ofMillis(200)).build()) {
            List<Stream> streams = new ArrayList<>();
            for (int i = 0; i < STREAMS; i++) {
                streams.add(await(store.createStream(StreamOptions.defaults())));
            }
            // Write phase: four writers, every stream gets batchesPerStream batches.
            List<Future<?>> writers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                writers.add(pool.submit(() -> {
                    for (int n = 0; n < batchesPerStream; n++) {
                        for (int i = thread; i < STREAMS; i += 4) {
                            append(streams.get(i), ledger, Campaigns.BASE_SEED * 1000 + (long) i * 100_000 + n);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> w : writers) {
                w.get(5, TimeUnit.MINUTES);
            }
            await(store.flush());
            sample(maxDirect, maxHeap, memory);
            long writePhasePeak = maxDirect.get() - directBaseline;
            maxDirect.set(liveDirect());

            // Catch-up phase: four readers over all streams from 0, and a tail writer/reader on 5 hot streams.
            AtomicBoolean reading = new AtomicBoolean(true);
            CountDownLatch readersDone = new CountDownLatch(readerCount);
            List<Future<?>> readers = new ArrayList<>();
            for (int t = 0; t < readerCount; t++) {
                int thread = t;
                readers.add(pool.submit(() -> {
                    try {
                        for (int i = thread; i < STREAMS; i += readerCount) {
                            Stream s = streams.get(i);
                            long offset = 0;
                            long end = s.nextOffset();
                            while (offset < end) {
                                try (FetchResult r = await(s.fetch(offset, Long.MAX_VALUE, 64 * 1024))) {
                                    for (FetchedBatch b : r.batches()) {
                                        if (b.baseOffset() >= end) {
                                            break; // the tail writer's, appended after this reader started
                                        }
                                        byte[] bytes = new byte[b.sizeBytes()];
                                        b.payload().get(bytes);
                                        assertThat(Campaigns.isGenuine(bytes)).isTrue();
                                        Long seed;
                                        java.util.TreeMap<Long, Long> acked = ledger.of(s.id());
                                        synchronized (acked) {
                                            seed = acked.get(b.baseOffset());
                                        }
                                        assertThat(Campaigns.seedOf(bytes)).isEqualTo(seed);
                                        bytesRead.addAndGet(bytes.length);
                                        batchesRead.incrementAndGet();
                                        offset = b.nextOffset();
                                    }
                                    sample(maxDirect, maxHeap, memory);
                                }
                            }
                        }
                    } finally {
                        readersDone.countDown();
                    }
                    return null;
                }));
            }
            Future<long[]> tail = pool.submit(() -> {
                long count = 0;
                long maxNanos = 0;
                for (long n = 0; reading.get() || count < 50; n++) {
                    Stream s = streams.get((int) (n % 5));
                    long seed = Campaigns.BASE_SEED * 1000 + 90_000_000L + n;
                    long base = append(s, ledger, seed);
                    long t0 = System.nanoTime();
                    try (FetchResult r = await(s.fetch(base, Long.MAX_VALUE, 1))) {
                        byte[] bytes = new byte[r.batches().get(0).sizeBytes()];
                        r.batches().get(0).payload().get(bytes);
                        assertThat(bytes).isEqualTo(Campaigns.payload(seed));
                    }
                    maxNanos = Math.max(maxNanos, System.nanoTime() - t0);
                    count++;
                }
                return new long[] {count, maxNanos};
            });
            for (Future<?> r : readers) {
                r.get(5, TimeUnit.MINUTES);
            }
            assertThat(readersDone.await(1, TimeUnit.SECONDS)).isTrue();
            reading.set(false);
            long[] tailResult = tail.get(5, TimeUnit.MINUTES);

            System.gc();
            long heapRetained = memory.getHeapMemoryUsage().getUsed() - heapBaseline;
            long directGrowth = maxDirect.get() - directBaseline;
            long poolGrowth = usedDirect() - poolBaseline;
            long directLimit = LOG_CACHE + BLOCK_CACHE + IN_FLIGHT + DIRECT_SLACK;
            String measured = "streams=" + STREAMS + " batchesRead=" + batchesRead.get() + " bytesRead=" + bytesRead.get()
                    + " peakLiveDirectGrowthWriting=" + writePhasePeak + " peakLiveDirectGrowthReading=" + directGrowth
                    + " directLimit=" + directLimit
                    + " poolChunkGrowth=" + poolGrowth
                    + " peakHeapUsed=" + maxHeap.get() + " heapRetainedAfterGc=" + heapRetained
                    + " tailReads=" + tailResult[0] + " tailReadMaxMs=" + tailResult[1] / 1_000_000;
            if (checkMemory) {
                assertThat(bytesRead.get()).as("the readers read more than the memory bound; %s", measured)
                        .isGreaterThan(directLimit);
                assertThat(writePhasePeak).as("live pooled direct memory while writing; %s", measured)
                        .isLessThanOrEqualTo(directLimit);
                assertThat(directGrowth).as("live pooled direct memory while reading; %s", measured)
                        .isLessThanOrEqualTo(directLimit);
                assertThat(heapRetained).as("heap retained after the load; %s", measured).isLessThan(HEAP_RETAINED_LIMIT);
            }
            assertThat(tailResult[0]).as(measured).isGreaterThanOrEqualTo(50);
            assertThat(tailResult[1]).as("slowest tail read; %s", measured).isLessThan(TimeUnit.SECONDS.toNanos(2));
            Campaigns.report("MemoryUnderLoadTest", measured + " oom=0");
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Regression test: four catch-up readers, as many as the store's read threads. Each fetch blocked
     * a read thread in {@code ObjectReadPath.fetchBlocking} on {@code blockCache.read(..).join()}
     * while the block loads it waited for were scheduled on the same read executor, so every fetch
     * of the store hung for good. Found by this campaign; fixed by giving the BlockCache its own
     * threads.
     */
    @Test
    void asManyCatchUpReadersAsReadThreadsDoNotDeadlock() throws Exception {
        runLoad(4, 20, false); // small: only that every fetch completes, with exact bytes
    }

    /** Appends, retrying (bounded) while the store applies backpressure; returns the base offset. */
    private static long append(Stream s, Campaigns.Ledger ledger, long seed) {
        for (int attempt = 0; ; attempt++) {
            try {
                long base = await(s.append(Campaigns.batch(seed))).baseOffset();
                ledger.ack(s.id(), base, seed);
                return base;
            } catch (BackpressureException e) {
                assertThat(attempt).as("appends keep being refused").isLessThan(500);
            }
        }
    }

    /** Memory the pool took from the OS in whole chunks; it never shrinks, so earlier tests inflate it. */
    private static long usedDirect() {
        return PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
    }

    /** Bytes of pooled direct buffers alive now (allocated and not yet released), over all arenas. */
    private static long liveDirect() {
        long live = 0;
        for (io.netty.buffer.PoolArenaMetric arena : PooledByteBufAllocator.DEFAULT.metric().directArenas()) {
            live += arena.numActiveBytes();
        }
        return live;
    }

    private static void sample(AtomicLong maxDirect, AtomicLong maxHeap, MemoryMXBean memory) {
        maxDirect.accumulateAndGet(liveDirect(), Math::max);
        maxHeap.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
    }
}
