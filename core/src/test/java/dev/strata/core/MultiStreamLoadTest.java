package dev.strata.core;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.AppendResult;
import dev.strata.api.BackpressureException;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hundreds of streams, concurrent appenders and readers (tailing and catch-up) over a small cache,
 * so uploads, evictions and object reads all happen while reads run; every byte is verified, during
 * the load and after a restart.
 */
class MultiStreamLoadTest {

    private static final int STREAMS = 200;
    private static final int BATCHES_PER_STREAM = 30;

    @TempDir
    Path dir;

    @Test
    void everyByteOfEveryStreamIsReadBackUnderConcurrentLoad() throws Exception {
        List<Long> ids = new ArrayList<>();
        ConcurrentLinkedQueue<String> readerErrors = new ConcurrentLinkedQueue<>();
        AtomicLong readsVerified = new AtomicLong();
        AtomicLong backpressured = new AtomicLong();
        try (DurableStreamStore store = StoreFixtures.small(dir)
                .logCacheBytes(4L << 20).uploadThresholdBytes(512 << 10).build()) {
            List<Stream> streams = new ArrayList<>();
            for (int i = 0; i < STREAMS; i++) {
                Stream s = await(store.createStream(StreamOptions.defaults()));
                streams.add(s);
                ids.add(s.id());
            }
            ExecutorService pool = Executors.newFixedThreadPool(6);
            AtomicBoolean appending = new AtomicBoolean(true);
            CountDownLatch start = new CountDownLatch(1);
            try {
                List<Future<?>> appenders = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    int thread = t;
                    appenders.add(pool.submit(() -> {
                        start.await();
                        for (int i = 0; i < BATCHES_PER_STREAM; i++) {
                            for (int k = thread; k < STREAMS; k += 4) {
                                appendWithRetry(streams.get(k), backpressured);
                            }
                        }
                        return null;
                    }));
                }
                List<Future<?>> readers = new ArrayList<>();
                for (int t = 0; t < 2; t++) {
                    int thread = t;
                    readers.add(pool.submit(() -> {
                        start.await();
                        int k = thread;
                        while (appending.get()) {
                            Stream s = streams.get(k % STREAMS);
                            k += 7;
                            try {
                                readsVerified.addAndGet(DurableStreamStoreTest.verifyDerived(s));
                            } catch (AssertionError | RuntimeException e) {
                                readerErrors.add(s.id() + ": " + e);
                            }
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> f : appenders) {
                    f.get();
                }
                appending.set(false);
                for (Future<?> f : readers) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(readerErrors).isEmpty();
            assertThat(readsVerified.get()).isPositive();
            for (Stream s : streams) {
                assertThat(DurableStreamStoreTest.verifyDerived(s)).isEqualTo(BATCHES_PER_STREAM);
            }
        }
        try (DurableStreamStore store = StoreFixtures.small(dir).build()) {
            for (long id : ids) {
                assertThat(DurableStreamStoreTest.verifyDerived(await(store.openStream(id, 1))))
                        .isEqualTo(BATCHES_PER_STREAM);
            }
        }
    }

    /** One batch whose bytes derive from (stream, base); retried while the store applies backpressure. */
    private static void appendWithRetry(Stream s, AtomicLong backpressured) {
        while (true) {
            long base = s.nextOffset(); // one appender per stream: the next base is known
            byte[] p = DurableStreamStoreTest.payload(s.id(), base);
            CompletableFuture<AppendResult> f = s.append(RecordBatch.of(1 + (int) (base % 3), base, ByteBuffer.wrap(p)));
            try {
                assertThat(f.join().baseOffset()).isEqualTo(base);
                return;
            } catch (CompletionException e) {
                if (!(e.getCause() instanceof BackpressureException)) {
                    throw e;
                }
                backpressured.incrementAndGet();
                Thread.onSpinWait(); // retriable: the uploader is freeing cache space
            }
        }
    }
}
