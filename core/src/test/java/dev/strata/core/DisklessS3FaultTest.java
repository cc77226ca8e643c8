package dev.strata.core;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.AppendResult;
import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamFencedException;
import dev.strata.api.StreamOptions;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.ObjectStorages;
import dev.strata.objectstore.Retrier;
import dev.strata.objectstore.RetryPolicy;
import dev.strata.objectstore.s3.S3ObjectStorage;
import dev.strata.objectstore.testing.S3ProxyServer;
import dev.strata.testkit.AckLedger;
import dev.strata.testkit.Futures;
import dev.strata.wal.objectstore.ObjectWalOptions;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 24's fault injection on a whole store: a {@link Strata} store with its WAL in the object
 * store ({@code walOnObjectStore}, no local directory), its objects, manifest and WAL on the
 * in-process S3 server over real HTTP, and {@link WalFaultStorage} between the store and S3 injecting
 * faults on the WAL's PUTs and listings: a slow (held) PUT, failed PUTs that succeed on retry, a PUT
 * the server applies whose response is lost, and a listing that misses the newest WAL objects at a
 * takeover. Each test appends from several streams at once, each on its own thread, records what was
 * acknowledged ({@link AckLedger}), then kills the store ({@link WalFaultStorage#sever()}: nothing it
 * does afterwards reaches S3) or leaves it running, and opens a second store on the same prefix,
 * which takes it over. Checked there, for every stream: the offsets are contiguous, every
 * acknowledged batch reads back at its offset with its bytes, every batch read is one that was
 * appended and appears once (no duplicate from a retried PUT), and where no acknowledgement can have
 * been lost in flight, nothing unacknowledged appears at all. No test waits on time: holds, futures
 * and the faults' own futures order the steps.
 */
class DisklessS3FaultTest {
    @RegisterExtension
    static final S3ProxyServer S3 = S3ProxyServer.inMemory();
    private static final String BUCKET = "diskless-faults";
    private static final int STREAMS = 4;
    private static final AtomicInteger PREFIXES = new AtomicInteger();
    private static software.amazon.awssdk.services.s3.S3AsyncClient client;
    private static ScheduledExecutorService retryTimer;

    private String prefix;
    private final AckLedger ledger = new AckLedger();
    /** Every append made, acknowledged or not, in the order each stream made them. */
    private final List<Appended> appended = Collections.synchronizedList(new ArrayList<>());
    private final List<Long> ids = new ArrayList<>();
    private final List<DurableStreamStore> stores = new ArrayList<>();
    /** The epoch streams were last opened at: A created them at 1; each later open takes the next one. */
    private long epoch = 1;
    private ExecutorService appenders;

    /** One append: its stream, the seed of its payload and record count, and its acknowledgement (ledger updated first). */
    private record Appended(long stream, long seed, CompletableFuture<AppendResult> acked) {
    }

    @BeforeAll
    static void startClient() {
        S3.createBucket(BUCKET);
        client = S3.newClient();
        retryTimer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "test-s3-retry");
            t.setDaemon(true);
            return t;
        });
    }

    @AfterAll
    static void stopClient() {
        client.close();
        retryTimer.shutdownNow();
    }

    @BeforeEach
    void setUp() {
        prefix = "store-" + PREFIXES.incrementAndGet() + "/";
        appenders = Executors.newFixedThreadPool(STREAMS, r -> new Thread(r, "test-appender"));
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        appenders.shutdownNow();
        for (int i = stores.size() - 1; i >= 0; i--) {
            // a severed store's close fails fast (every request fails at once); a hang is a failure, not a stuck build
            Thread closer = new Thread(stores.get(i)::close, "test-close");
            closer.start();
            closer.join(TimeUnit.SECONDS.toMillis(Futures.TIMEOUT_SECONDS));
            assertThat(closer.isAlive()).as("store %d closed", i).isFalse();
        }
    }

    /** A new view of this test's prefix on the S3 server (the S3 client is shared). */
    private ObjectStorage s3() {
        return S3ObjectStorage.create(client, ObjectStorages.s3Options(S3.objectStoreUri(BUCKET, prefix)),
                new Retrier(RetryPolicy.defaults(), (task, nanos) -> retryTimer.schedule(task, nanos, TimeUnit.NANOSECONDS),
                        System::nanoTime, new SplittableRandom(7)));
    }

    /** The WAL's {@link ObjectWalOptions#earlyFlush()}: the default here, on in {@link DisklessS3FaultEarlyFlushTest}. */
    protected boolean earlyFlush() {
        return ObjectWalOptions.DEFAULT_EARLY_FLUSH;
    }

    /**
     * A store on {@code storage} with no local directory, as {@link StoreFixtures#diskless}: the WAL
     * flushed every 5 ms and retried after 1 ms, nothing uploaded during a test, so a takeover replays
     * everything from the WAL objects.
     */
    private DurableStreamStore open(ObjectStorage storage) {
        DurableStreamStore store = StoreFixtures.disklessSizes(Strata.builder().objectStorage(storage),
                        StoreFixtures.disklessWal()
                                .earlyFlush(earlyFlush())
                                .retryBackoffNanos(TimeUnit.MILLISECONDS.toNanos(1))
                                .build())
                .closeUploadTimeout(Duration.ofSeconds(2))
                .build();
        stores.add(store);
        return store;
    }

    private List<Stream> createStreams(DurableStreamStore store) {
        List<Stream> streams = new ArrayList<>();
        for (int i = 0; i < STREAMS; i++) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            streams.add(s);
            ids.add(s.id());
        }
        return streams;
    }

    /**
     * Each stream appends {@code perStream} batches from its own thread, all at once (none waits for
     * an acknowledgement); returns once every append was made, with those appends.
     */
    private List<Appended> appendConcurrently(List<Stream> streams, int perStream, int round) throws Exception {
        List<Future<List<Appended>>> tasks = new ArrayList<>();
        for (Stream s : streams) {
            tasks.add(appenders.submit(() -> {
                List<Appended> made = new ArrayList<>();
                for (int i = 0; i < perStream; i++) {
                    long seed = s.id() * 1_000_000L + round * 1_000L + i;
                    CompletableFuture<AppendResult> f = s.append(
                            RecordBatch.of(CrashChild.count(seed), ByteBuffer.wrap(CrashChild.payload(seed))));
                    made.add(new Appended(s.id(), seed, f.thenApply(r -> {
                        ledger.ack(s.id(), r.baseOffset(), seed);
                        return r;
                    })));
                }
                return made;
            }));
        }
        List<Appended> all = new ArrayList<>();
        for (Future<List<Appended>> t : tasks) {
            all.addAll(t.get(Futures.TIMEOUT_SECONDS, TimeUnit.SECONDS));
        }
        appended.addAll(all);
        return all;
    }

    private static void awaitAcknowledged(List<Appended> appends) {
        for (Appended a : appends) {
            await(a.acked());
        }
    }

    /** How many of {@code appends} are acknowledged so far. */
    private static long acknowledged(List<Appended> appends) {
        return appends.stream().filter(a -> a.acked().isDone() && !a.acked().isCompletedExceptionally()).count();
    }

    /** Waits until every append has an outcome; returns how many were acknowledged. */
    private static int settle(List<Appended> appends) {
        int acked = 0;
        for (Appended a : appends) {
            try {
                await(a.acked());
                acked++;
            } catch (RuntimeException e) {
                // failed: the store died or was fenced; checked against what the takeover reads
            }
        }
        return acked;
    }

    /**
     * Checks every stream as {@code store} serves it, after opening it at the next epoch: contiguous
     * offsets; every acknowledged batch at its offset with its bytes and record count; every batch
     * read is an appended one, read once. With {@code exact}, also nothing unacknowledged.
     *
     * @return the batches read
     */
    private int verify(DurableStreamStore store, boolean exact) {
        long at = ++epoch;
        int read = 0;
        for (long id : ids) {
            Map<ByteBuffer, Long> seedOf = new HashMap<>();
            synchronized (appended) {
                for (Appended a : appended) {
                    if (a.stream() == id) {
                        seedOf.put(ByteBuffer.wrap(CrashChild.payload(a.seed())), a.seed());
                    }
                }
            }
            Stream s = await(store.openStream(id, at));
            TreeMap<Long, Long> stored = new TreeMap<>();
            Set<Long> seen = new HashSet<>();
            long offset = s.startOffset();
            while (offset < s.nextOffset()) {
                try (FetchResult r = await(s.fetch(offset, Long.MAX_VALUE, 256 * 1024))) {
                    for (FetchedBatch b : r.batches()) {
                        assertThat(b.baseOffset()).as("stream %d: offsets contiguous", id).isEqualTo(offset);
                        Long seed = seedOf.get(b.payload());
                        assertThat(seed).as("stream %d offset %d: the bytes of an appended batch", id, offset).isNotNull();
                        assertThat(seen.add(seed)).as("stream %d: batch %d read once, not duplicated", id, seed).isTrue();
                        assertThat(b.count()).isEqualTo(CrashChild.count(seed));
                        stored.put(b.baseOffset(), seed);
                        offset = b.nextOffset();
                    }
                }
            }
            TreeMap<Long, Long> acked;
            synchronized (ledger.of(id)) {
                acked = new TreeMap<>(ledger.of(id));
            }
            for (Map.Entry<Long, Long> e : acked.entrySet()) {
                assertThat(stored.get(e.getKey())).as("stream %d: acknowledged batch at offset %d", id, e.getKey())
                        .isEqualTo(e.getValue());
            }
            if (exact) {
                assertThat(stored).as("stream %d: nothing unacknowledged is visible", id).isEqualTo(acked);
            }
            read += stored.size();
        }
        return read;
    }

    /** Every stream, opened at the next epoch, takes one more append at its end (the offsets go on). */
    private void appendAfterTakeover(DurableStreamStore store) {
        long at = ++epoch;
        for (long id : ids) {
            Stream s = await(store.openStream(id, at));
            long next = s.nextOffset();
            long seed = id * 1_000_000L + 999_999L;
            CompletableFuture<AppendResult> f = s.append(
                    RecordBatch.of(CrashChild.count(seed), ByteBuffer.wrap(CrashChild.payload(seed))));
            appended.add(new Appended(id, seed, f));
            long base = await(f).baseOffset();
            assertThat(base).as("stream %d continues at its end", id).isEqualTo(next);
            ledger.ack(id, base, seed);
        }
    }

    /** The WAL objects of this test's prefix, oldest first. */
    private List<String> walKeys() {
        try (ObjectStorage raw = s3()) {
            List<String> keys = new ArrayList<>();
            for (ObjectInfo i : await(raw.list("wal/"))) {
                keys.add(i.key());
            }
            Collections.sort(keys);
            return keys;
        }
    }

    @Test
    void aSlowWalPutHoldsBackLaterAcknowledgementsAndADeathWhileItIsHeldLosesNothingAcknowledged() throws Exception {
        WalFaultStorage faults = new WalFaultStorage(s3());
        DurableStreamStore a = open(faults);
        List<Stream> streams = createStreams(a);
        awaitAcknowledged(appendConcurrently(streams, 10, 0));

        WalFaultStorage.Hold hold = faults.holdNextWalPut();
        CompletableFuture<String> laterLanded = faults.nextWalPutLanded();
        List<Appended> pending = new ArrayList<>(appendConcurrently(streams, 10, 1));
        String heldKey = await(hold.reached());
        pending.addAll(appendConcurrently(streams, 10, 2)); // into objects after the held one
        String landed = await(laterLanded);
        assertThat(landed).as("a later WAL object is stored while the first is held").isGreaterThan(heldKey);
        assertThat(acknowledged(pending)).as("appends acknowledged while an earlier WAL object is not durable").isZero();

        faults.sever(); // A dies; its held PUT never reaches S3
        assertThat(settle(pending)).isZero();

        DurableStreamStore b = open(new WalFaultStorage(s3()));
        assertThat(b.recoveryReport().wal().records()).as("A's WAL objects replayed").isPositive();
        assertThat(verify(b, true)).as("the first round only: the objects after the gap are not the log")
                .isEqualTo(STREAMS * 10);
        appendAfterTakeover(b);
        assertThat(verify(b, true)).isEqualTo(STREAMS * 11);
    }

    @Test
    void aSlowWalPutDelaysButDoesNotReorderAcknowledgementsAndATakeoverServesThemAll() throws Exception {
        WalFaultStorage faults = new WalFaultStorage(s3());
        DurableStreamStore a = open(faults);
        List<Stream> streams = createStreams(a);
        Map<Long, List<Long>> ackOrder = new HashMap<>();
        for (long id : ids) {
            ackOrder.put(id, Collections.synchronizedList(new ArrayList<>()));
        }

        WalFaultStorage.Hold hold = faults.holdNextWalPut();
        CompletableFuture<String> laterLanded = faults.nextWalPutLanded();
        List<Appended> all = new ArrayList<>(appendConcurrently(streams, 15, 1));
        await(hold.reached());
        all.addAll(appendConcurrently(streams, 15, 2));
        await(laterLanded);
        assertThat(acknowledged(all)).isZero();
        List<CompletableFuture<AppendResult>> recorded = new ArrayList<>();
        for (Appended p : all) {
            recorded.add(p.acked().thenApply(r -> {
                ackOrder.get(p.stream()).add(r.baseOffset());
                return r;
            }));
        }
        hold.release();
        awaitAcknowledged(all);
        recorded.forEach(Futures::await);
        for (long id : ids) {
            assertThat(ackOrder.get(id)).as("stream %d acknowledged in offset order", id).hasSize(30).isSorted();
        }

        faults.sever();
        DurableStreamStore b = open(new WalFaultStorage(s3()));
        assertThat(verify(b, true)).isEqualTo(STREAMS * 30);
        appendAfterTakeover(b);
    }

    @Test
    void failedWalPutsAreRetriedAndADeathWithAppendsInFlightLosesNothingAcknowledged() throws Exception {
        WalFaultStorage faults = new WalFaultStorage(s3());
        DurableStreamStore a = open(faults);
        List<Stream> streams = createStreams(a);
        faults.failNextWalPuts(3); // then success on retry (5 attempts per object)
        List<Appended> first = appendConcurrently(streams, 20, 1);
        awaitAcknowledged(first);
        assertThat(faults.injectedFaults()).isEqualTo(3);

        faults.failNextWalPuts(2);
        List<Appended> inFlight = appendConcurrently(streams, 20, 2);
        faults.sever(); // A dies with appends in flight, some PUTs failing, some retrying
        int acked = settle(inFlight);

        DurableStreamStore b = open(new WalFaultStorage(s3()));
        int read = verify(b, false); // an object stored just before the death may hold unacknowledged batches
        assertThat(read).isBetween(STREAMS * 20 + acked, STREAMS * 40);
        appendAfterTakeover(b);
    }

    @Test
    void aWalPutWhoseResponseWasLostIsNotDuplicatedAndALiveWriterIsFencedByTheTakeover() throws Exception {
        WalFaultStorage faults = new WalFaultStorage(s3());
        DurableStreamStore a = open(faults);
        List<Stream> streams = createStreams(a);
        CompletableFuture<String> lost = faults.loseNextWalPutResponse();
        List<Appended> first = appendConcurrently(streams, 20, 1);
        awaitAcknowledged(first);
        String lostKey = await(lost);
        assertThat(faults.walPutAttempts(lostKey)).as("retried once: 412, read back, recognised as its own").isEqualTo(2);

        // A stays alive; B takes the prefix over beside it
        DurableStreamStore b = open(new WalFaultStorage(s3()));
        assertThat(verify(b, true)).isEqualTo(STREAMS * 20);
        List<Appended> late = appendConcurrently(streams, 1, 3); // A's appends after the takeover
        assertThat(settle(late)).as("A can acknowledge nothing after B's fence").isZero();
        assertThat(late).allSatisfy(p -> assertThat(Futures.unwrap(p.acked().handle((r, e) -> e).join()))
                .isInstanceOf(StreamFencedException.class));
        appendAfterTakeover(b);
        assertThat(verify(b, true)).as("none of A's late appends is visible").isEqualTo(STREAMS * 21);
    }

    @Test
    void aListingThatMissesTheNewestWalObjectsAtTakeoverLosesNothing() throws Exception {
        WalFaultStorage faults = new WalFaultStorage(s3());
        DurableStreamStore a = open(faults);
        List<Stream> streams = createStreams(a);
        for (int round = 1; round <= 3; round++) { // several WAL objects
            awaitAcknowledged(appendConcurrently(streams, 10, round));
        }
        faults.sever();

        List<String> wal = walKeys();
        assertThat(wal.size()).isGreaterThan(3);
        List<String> newest = wal.subList(wal.size() - 2, wal.size());
        WalFaultStorage lagging = new WalFaultStorage(s3());
        lagging.hideFromListing(newest);
        DurableStreamStore b = open(lagging);
        assertThat(lagging.hiddenFromListings()).as("the listing did miss the newest objects").isPositive();
        assertThat(verify(b, true)).isEqualTo(STREAMS * 30);
        appendAfterTakeover(b);
        assertThat(verify(b, true)).isEqualTo(STREAMS * 31);
    }
}
