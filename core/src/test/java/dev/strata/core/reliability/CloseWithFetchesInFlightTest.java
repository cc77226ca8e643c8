package dev.strata.core.reliability;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.strata.api.FetchResult;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamClosedException;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StoreFixtures;
import dev.strata.core.Strata;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.testing.S3ProxyServer;
import dev.strata.testkit.Futures;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Catch-up fetches (from objects, with cold caches after a restart) in flight when the store
 * closes: every fetch future the store handed out is done when {@code close()} returns, each one
 * either succeeded or failed with {@link StreamClosedException}, nothing is logged as an error for
 * it, and no buffer leaks (the class-level leak check of the test run, NettyLeakCheck).
 * Issue 18, items 9 and 10.
 */
class CloseWithFetchesInFlightTest {
    private static final String BUCKET = "strata-close";
    private static final int STREAMS = 4;
    private static final int BATCHES = 300;
    private static final int PAYLOAD = 2048;

    private static S3ProxyServer s3;

    @TempDir
    Path dir;

    @BeforeAll
    static void startS3() throws Exception {
        s3 = S3ProxyServer.inMemory();
        s3.start();
        s3.createBucket(BUCKET);
    }

    @AfterAll
    static void stopS3() throws Exception {
        s3.stop();
    }

    private static Strata.Builder builder(Path dir) {
        // A block cache smaller than the data: reads keep loading blocks from objects
        return StoreFixtures.campaign(dir).blockCacheBytes(1L << 20).uploadInterval(Duration.ofSeconds(30))
                .compactionInterval(Duration.ZERO);
    }

    /** Streams with committed objects: each stream's batches, written, flushed, and the store closed. */
    private static List<Long> writeAndClose(DurableStreamStore store) {
        SplittableRandom random = new SplittableRandom(18);
        List<Long> ids = new ArrayList<>();
        List<Stream> streams = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            streams.add(s);
            ids.add(s.id());
        }
        for (int b = 0; b < BATCHES; b++) {
            List<CompletableFuture<?>> appends = new ArrayList<>(); // one batch per stream in flight at a time
            for (Stream s : streams) {
                byte[] payload = new byte[PAYLOAD];
                random.nextBytes(payload);
                appends.add(s.append(RecordBatch.of(1, ByteBuffer.wrap(payload))));
            }
            appends.forEach(Futures::await);
        }
        await(store.flush());
        store.close();
        return ids;
    }

    /** Item 9: a fetch waiting on a storage that never answers completes with StreamClosedException at close. */
    @Test
    void fetchWaitingOnAHungObjectStoreIsFailedClosedWhenCloseReturns() {
        LocalObjectStorage local = LocalObjectStorage.open(dir.resolve("objects"));
        GatedObjectStorage storage = new GatedObjectStorage(local);
        try {
            List<Long> ids = writeAndClose(builder(dir).objectStorage(storage).build());
            DurableStreamStore store = builder(dir).objectStorage(storage).build(); // cold caches
            Stream stream = await(store.openStream(ids.get(0), 0));
            storage.hang();
            CompletableFuture<FetchResult> fetch = stream.fetch(0, Long.MAX_VALUE, 64 * 1024);
            await(storage.firstHeld()); // the fetch waits for the object's index (a GET that never answers)
            assertThat(fetch).isNotDone();

            assertTimeoutPreemptively(Duration.ofSeconds(60), store::close, "close() with a fetch in a hung GET");

            assertThat(fetch).as("fetch future when close() returned").isDone();
            assertThat(Futures.unwrap(fetch.handle((r, e) -> e).join()))
                    .as("failure of the fetch in flight at close").isInstanceOf(StreamClosedException.class);
            storage.endOutage(); // the GET fails late: nothing may be left holding buffers
        } finally {
            storage.endOutage();
            local.close();
        }
    }

    /** Item 10 on the local object store. */
    @Test
    void fetchesRacingCloseSucceedOrFailClosedOnLocalStorage() {
        Map<String, Integer> outcomes = new TreeMap<>();
        for (int round = 0; round < 3; round++) {
            Path roundDir = dir.resolve("round-" + round);
            Function<Strata.Builder, Strata.Builder> storage = b -> b;
            race(() -> builder(roundDir), storage, outcomes);
        }
        report("local", outcomes);
    }

    /** Item 10 on S3 (S3Proxy over HTTP): the store owns its S3 storage and closes it. */
    @Test
    void fetchesRacingCloseSucceedOrFailClosedOnS3() {
        Map<String, Integer> outcomes = new TreeMap<>();
        for (int round = 0; round < 2; round++) {
            Path roundDir = dir.resolve("round-" + round);
            java.net.URI uri = s3.objectStoreUri(BUCKET, "close-" + UUID.randomUUID() + "/");
            race(() -> builder(roundDir), b -> b.objectStore(uri), outcomes);
        }
        report("s3", outcomes);
    }

    private static void report(String where, Map<String, Integer> outcomes) {
        System.out.println("RELIABILITY campaign=close-with-fetches storage=" + where + " outcomes=" + outcomes);
        assertThat(outcomes.keySet()).as("outcomes of fetches racing close() on %s", where)
                .isSubsetOf("ok", StreamClosedException.class.getSimpleName());
    }

    /** Writes, restarts (cold caches), issues many catch-up fetches and closes while they run. */
    private static void race(java.util.function.Supplier<Strata.Builder> builder,
            Function<Strata.Builder, Strata.Builder> storage, Map<String, Integer> outcomes) {
        List<Long> ids = writeAndClose(storage.apply(builder.get()).build());
        DurableStreamStore store = storage.apply(builder.get()).build();
        ListAppender<ILoggingEvent> logs = captureLogs();
        JulCapture jul = JulCapture.install();
        List<CompletableFuture<FetchResult>> fetches = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> fetchers = new ArrayList<>();
        try {
            List<Stream> streams = new ArrayList<>();
            for (long id : ids) {
                streams.add(await(store.openStream(id, 0)));
            }
            // Readers keep 8 catch-up fetches each in flight until the store refuses them; close() runs
            // once 40 fetches have succeeded, so it lands among reads that are using the block cache.
            java.util.concurrent.atomic.AtomicInteger succeeded = new java.util.concurrent.atomic.AtomicInteger();
            CompletableFuture<Void> warmedUp = new CompletableFuture<>();
            for (int t = 0; t < 4; t++) {
                Stream s = streams.get(t % streams.size());
                SplittableRandom random = new SplittableRandom(ids.get(0) + t);
                Thread fetcher = new Thread(() -> {
                    boolean refused = false;
                    while (!refused) {
                        List<CompletableFuture<FetchResult>> round = new ArrayList<>();
                        for (int i = 0; i < 8; i++) {
                            CompletableFuture<FetchResult> f = s.fetch(random.nextInt(BATCHES), Long.MAX_VALUE, 16 * 1024);
                            fetches.add(f);
                            round.add(f);
                        }
                        for (CompletableFuture<FetchResult> f : round) {
                            Throwable e = f.handle((r, error) -> error).join();
                            if (e != null) {
                                refused = true;
                            } else if (succeeded.incrementAndGet() >= 40) {
                                warmedUp.complete(null);
                            }
                        }
                    }
                }, "test-fetcher-" + t);
                fetchers.add(fetcher);
                fetcher.start();
            }
            await(warmedUp);
            assertTimeoutPreemptively(Duration.ofSeconds(60), store::close, "close() with fetches in flight");
            List<CompletableFuture<FetchResult>> issued;
            synchronized (fetches) {
                issued = List.copyOf(fetches); // every fetch issued before close() returned, and some after
            }
            for (CompletableFuture<FetchResult> f : issued) {
                assertThat(f).as("fetch future when close() returned").isDone();
            }
            for (Thread fetcher : fetchers) {
                fetcher.join(60_000);
                assertThat(fetcher.isAlive()).as("fetcher stopped after close").isFalse();
            }
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        } finally {
            store.close();
            detach(logs);
            jul.uninstall();
        }
        for (CompletableFuture<FetchResult> f : fetches) {
            String outcome = f.handle((r, e) -> {
                if (e == null) {
                    r.close();
                    return "ok";
                }
                Throwable cause = Futures.unwrap(e);
                return cause instanceof StreamClosedException ? cause.getClass().getSimpleName()
                        : cause.getClass().getSimpleName() + ": " + cause.getMessage();
            }).join();
            outcomes.merge(outcome, 1, Integer::sum);
        }
        List<String> problems = new ArrayList<>();
        for (ILoggingEvent e : logs.list) {
            if (e.getLevel().isGreaterOrEqual(Level.ERROR) || mentionsRejected(e)) {
                problems.add(e.getLevel() + " " + e.getLoggerName() + ": " + e.getFormattedMessage()
                        + (e.getThrowableProxy() == null ? "" : " " + e.getThrowableProxy().getClassName()));
            }
        }
        problems.addAll(jul.problems());
        assertThat(problems).as("errors logged while fetches raced close()").isEmpty();
    }

    private static boolean mentionsRejected(ILoggingEvent e) {
        return e.getFormattedMessage().contains("RejectedExecution")
                || (e.getThrowableProxy() != null && e.getThrowableProxy().getClassName().contains("RejectedExecution"));
    }

    private static ListAppender<ILoggingEvent> captureLogs() {
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(appender);
        return appender;
    }

    private static void detach(ListAppender<ILoggingEvent> appender) {
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(appender);
        appender.stop();
    }

    /** Records java.util.logging warnings (Caffeine logs through System.Logger, i.e. JUL here). */
    private static final class JulCapture extends java.util.logging.Handler {
        private final List<String> problems = java.util.Collections.synchronizedList(new ArrayList<>());

        static JulCapture install() {
            JulCapture c = new JulCapture();
            java.util.logging.Logger.getLogger("").addHandler(c);
            return c;
        }

        void uninstall() {
            java.util.logging.Logger.getLogger("").removeHandler(this);
        }

        List<String> problems() {
            return List.copyOf(problems);
        }

        @Override
        public void publish(java.util.logging.LogRecord r) {
            if (r.getLevel().intValue() >= java.util.logging.Level.WARNING.intValue()) {
                problems.add("JUL " + r.getLevel() + " " + r.getLoggerName() + ": " + r.getMessage()
                        + (r.getThrown() == null ? "" : " " + r.getThrown()));
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }
}
