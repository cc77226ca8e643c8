package dev.strata.core.reliability;

import dev.strata.api.BackpressureException;
import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.MemoryLimits;
import dev.strata.core.StoreFixtures;
import dev.strata.testkit.AckLedger;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The load of {@link MemoryUnderLoadTest}, in a JVM of its own started with
 * {@code -XX:MaxDirectMemorySize} and {@code -Xmx}: nothing else allocates there, so the JVM's
 * direct-buffer pool (which holds every buffer of the store: Netty's pooled chunks, and the WAL's
 * aligned buffers) measures the store alone, and passing the limit is an {@link OutOfMemoryError}.
 *
 * <p>Args: dataDir streams batchesPerStream readers (streams 0: print the limits and stop). Prints
 * {@code LIMITS <direct bytes> <limits>} once the store is open, then {@code RESULT key=value...}; exits 0 when the load completed with every byte verified, 1 with
 * the error on stderr otherwise (an {@code OutOfMemoryError} included).
 */
public final class MemoryUnderLoadChild {
    /** Configured memory of the store: far less than the data the readers go through. */
    static final long LOG_CACHE = 4L << 20;
    static final long BLOCK_CACHE = 2L << 20;
    static final long IN_FLIGHT_READS = 1L << 20;

    private static final BufferPoolMXBean DIRECT = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)
            .stream().filter(p -> p.getName().equals("direct")).findFirst().orElseThrow();
    private static final MemoryMXBean HEAP = ManagementFactory.getMemoryMXBean();
    private static final AtomicLong PEAK_DIRECT = new AtomicLong();
    private static final AtomicLong PEAK_HEAP = new AtomicLong();
    /** Netty's pool at the direct peak: chunks it holds, and bytes of live buffers in them. */
    private static volatile String poolAtPeak = "";

    private MemoryUnderLoadChild() {
    }

    /** The store of the test (also used by the parent to learn the limits before it starts a child). */
    static DurableStreamStore open(Path dir) {
        return StoreFixtures.campaign(dir).walCapacity(32L << 20).logCacheBytes(LOG_CACHE)
                .blockCacheBytes(BLOCK_CACHE).maxInFlightReadBytes(IN_FLIGHT_READS).uploadThresholdBytes(1L << 20)
                .appendBackpressureWait(Duration.ofMillis(200)).build();
    }

    public static void main(String[] args) {
        try {
            run(Path.of(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            System.exit(0);
        } catch (Throwable t) {
            t.printStackTrace();
            System.out.flush();
            System.exit(1);
        }
    }

    private static void run(Path dir, int streamCount, int batches, int readerCount) throws Exception {
        if (io.netty.util.internal.PlatformDependent.useDirectBufferNoCleaner()) {
            // then Netty's memory would not show in the JVM's direct-buffer pool, nor count against its limit
            throw new AssertionError("Netty allocates direct memory outside the JVM's accounting here");
        }
        if (streamCount == 0) { // probe: the limits only
            try (DurableStreamStore store = open(dir)) {
                System.out.println("LIMITS " + store.memoryLimits().directBytes() + " " + store.memoryLimits());
            }
            return;
        }
        AckLedger ledger = new AckLedger();
        AtomicLong bytesRead = new AtomicLong();
        AtomicLong batchesRead = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(4, readerCount) + 1);
        try (DurableStreamStore store = open(dir)) {
            MemoryLimits limits = store.memoryLimits();
            System.out.println("LIMITS " + limits.directBytes() + " " + limits);
            List<Stream> streams = new ArrayList<>();
            for (int i = 0; i < streamCount; i++) {
                streams.add(store.createStream(StreamOptions.defaults()).get());
            }
            // Write phase: four writers, every stream gets `batches` batches.
            List<Future<?>> writers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                writers.add(pool.submit(() -> {
                    for (int n = 0; n < batches; n++) {
                        for (int i = thread; i < streamCount; i += 4) {
                            append(streams.get(i), ledger, Campaigns.BASE_SEED * 1000 + (long) i * 100_000 + n);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> w : writers) {
                w.get(5, TimeUnit.MINUTES);
            }
            store.flush().get();
            sample();
            long writePeak = PEAK_DIRECT.getAndSet(0);
            String writePool = poolAtPeak.replace("AtPeak", "Writing");

            // Catch-up phase: readers over every stream from 0 (from objects), and a tail writer/reader on 5 hot streams.
            AtomicBoolean reading = new AtomicBoolean(true);
            List<Future<?>> readers = new ArrayList<>();
            for (int t = 0; t < readerCount; t++) {
                int thread = t;
                readers.add(pool.submit(() -> {
                    for (int i = thread; i < streamCount; i += readerCount) {
                        Stream s = streams.get(i);
                        long offset = 0;
                        long end = s.nextOffset();
                        while (offset < end) {
                            try (FetchResult r = s.fetch(offset, Long.MAX_VALUE, 64 * 1024).get()) {
                                for (FetchedBatch b : r.batches()) {
                                    if (b.baseOffset() >= end) {
                                        break; // the tail writer's, appended after this reader started
                                    }
                                    byte[] bytes = new byte[b.sizeBytes()];
                                    b.payload().get(bytes);
                                    check(bytes, ledger.of(s.id()), b.baseOffset(), "stream " + s.id());
                                    bytesRead.addAndGet(bytes.length);
                                    batchesRead.incrementAndGet();
                                    offset = b.nextOffset();
                                }
                            }
                            sample();
                        }
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
                    try (FetchResult r = s.fetch(base, Long.MAX_VALUE, 1).get()) {
                        byte[] bytes = new byte[r.batches().get(0).sizeBytes()];
                        r.batches().get(0).payload().get(bytes);
                        if (!Arrays.equals(bytes, Campaigns.payload(seed))) {
                            throw new AssertionError("tail read of stream " + s.id() + " at " + base + " returned other bytes");
                        }
                    }
                    maxNanos = Math.max(maxNanos, System.nanoTime() - t0);
                    count++;
                    sample();
                }
                return new long[] {count, maxNanos};
            });
            for (Future<?> r : readers) {
                r.get(5, TimeUnit.MINUTES);
            }
            reading.set(false);
            long[] tailResult = tail.get(5, TimeUnit.MINUTES);
            long readPeak = PEAK_DIRECT.get();
            String readPool = poolAtPeak;
            System.gc();
            long heapRetained = HEAP.getHeapMemoryUsage().getUsed();
            System.out.println("RESULT streams=" + streamCount + " batchesRead=" + batchesRead.get() + " bytesRead="
                    + bytesRead.get() + " peakDirectWriting=" + writePeak + " peakDirectReading=" + readPeak
                    + " directLimit=" + limits.directBytes() + " maxDirectMemory=" + maxDirectMemory()
                    + " peakHeapUsed=" + PEAK_HEAP.get() + " heapRetainedAfterGc=" + heapRetained
                    + " maxHeap=" + Runtime.getRuntime().maxMemory()
                    + " tailReads=" + tailResult[0] + " tailReadMaxMs=" + tailResult[1] / 1_000_000
                    + writePool + readPool.replace("AtPeak", "Reading"));
        } finally {
            pool.shutdownNow();
        }
    }

    private static void check(byte[] bytes, TreeMap<Long, Long> acked, long baseOffset, String where) {
        if (!Campaigns.isGenuine(bytes)) {
            throw new AssertionError(where + ": damaged batch at " + baseOffset);
        }
        Long seed;
        synchronized (acked) {
            seed = acked.get(baseOffset);
        }
        if (seed == null || seed != Campaigns.seedOf(bytes)) {
            throw new AssertionError(where + ": batch at " + baseOffset + " is not the acknowledged one");
        }
    }

    /** Appends, retrying (bounded) while the store applies backpressure; returns the base offset. */
    private static long append(Stream s, AckLedger ledger, long seed) throws Exception {
        for (int attempt = 0; ; attempt++) {
            try {
                long base = s.append(Campaigns.batch(seed)).get().baseOffset();
                ledger.ack(s.id(), base, seed);
                sample();
                return base;
            } catch (java.util.concurrent.ExecutionException e) {
                if (!(e.getCause() instanceof BackpressureException) || attempt >= 500) {
                    throw e;
                }
            }
        }
    }

    private static void sample() {
        long direct = DIRECT.getMemoryUsed();
        if (direct > PEAK_DIRECT.get()) {
            io.netty.buffer.PooledByteBufAllocatorMetric m = io.netty.buffer.PooledByteBufAllocator.DEFAULT.metric();
            long active = 0;
            for (io.netty.buffer.PoolArenaMetric a : m.directArenas()) {
                active += a.numActiveBytes();
            }
            poolAtPeak = " poolChunksAtPeak=" + m.usedDirectMemory() + " poolLiveAtPeak=" + active;
        }
        PEAK_DIRECT.accumulateAndGet(direct, Math::max);
        PEAK_HEAP.accumulateAndGet(HEAP.getHeapMemoryUsage().getUsed(), Math::max);
    }

    private static long maxDirectMemory() {
        return io.netty.util.internal.PlatformDependent.maxDirectMemory();
    }
}
