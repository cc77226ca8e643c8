package dev.strata.core.reliability;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.AppendResult;
import dev.strata.api.FetchResult;
import dev.strata.api.OffsetOutOfRangeException;
import dev.strata.api.RecordBatch;
import dev.strata.api.RecordTooLargeException;
import dev.strata.api.Stream;
import dev.strata.api.StreamClosedException;
import dev.strata.api.StreamFencedException;
import dev.strata.api.StreamNotFoundException;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StoreFixtures;
import dev.strata.testkit.AckLedger;
import dev.strata.testkit.Futures;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * API misuse gives the documented typed errors, never a hang, a hole or a broken store: offsets out
 * of range (below a trim, above the end, also once the data lives in objects), huge records, calls
 * on closed handles and a closed store, deleted and fenced streams, and handles or the whole store
 * closed while appends are in flight (CI: 8 rounds each; long: 200).
 */
class ApiMisuseTest {
    private static final int ROUNDS = Campaigns.rounds(8, 200);

    @TempDir
    Path dir;

    @Test
    void offsetsOutOfRangeFailWithOffsetOutOfRangeAlsoFromObjects() {
        long id;
        try (DurableStreamStore store = StoreFixtures.campaign(dir).build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            id = s.id();
            for (long seed = 0; seed < 20; seed++) {
                await(s.append(Campaigns.batch(seed)));
            }
            long trimTo = s.nextOffset() / 2;
            await(s.trim(trimTo));
            checkRanges(s);
            await(store.flush());
        }
        try (DurableStreamStore store = StoreFixtures.campaign(dir).build()) {
            Stream s = await(store.openStream(id, 1)); // everything now comes from objects
            checkRanges(s);
        }
    }

    private static void checkRanges(Stream s) {
        long start = s.startOffset();
        long end = s.nextOffset();
        assertThat(start).isPositive();
        assertThatThrownBy(() -> await(s.fetch(start - 1, Long.MAX_VALUE, 1024)))
                .as("below the trim").isInstanceOf(OffsetOutOfRangeException.class);
        assertThatThrownBy(() -> await(s.fetch(0, Long.MAX_VALUE, 1024)))
                .as("at 0 below the trim").isInstanceOf(OffsetOutOfRangeException.class);
        assertThatThrownBy(() -> await(s.fetch(end + 1, Long.MAX_VALUE, 1024)))
                .as("above the end").isInstanceOf(OffsetOutOfRangeException.class);
        assertThatThrownBy(() -> await(s.fetch(Long.MAX_VALUE - 1, Long.MAX_VALUE, 1024)))
                .isInstanceOf(OffsetOutOfRangeException.class);
        try (FetchResult r = await(s.fetch(end, Long.MAX_VALUE, 1024))) {
            assertThat(r.isEmpty()).as("fetch at the end").isTrue();
        }
        assertThatThrownBy(() -> await(s.trim(end + 1))).isInstanceOf(OffsetOutOfRangeException.class);
        await(s.trim(start - 1)); // at or below the start: a harmless no-op
        assertThat(s.startOffset()).isEqualTo(start);
        assertThatThrownBy(() -> s.fetch(-1, 10, 10)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.fetch(start + 1, start, 10)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.fetch(start, end, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.trim(-1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> s.append(null)).isInstanceOf(IllegalArgumentException.class);
        // and nothing below the trim reappears: the first batch returned contains the start offset
        try (FetchResult r = await(s.fetch(start, Long.MAX_VALUE, 1))) {
            assertThat(r.batches().get(0).nextOffset()).isGreaterThan(start);
        }
    }

    @Test
    void hugeRecordsAreRefusedWithoutTakingAnOffset() {
        try (DurableStreamStore store = StoreFixtures.campaign(dir).build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            await(s.append(Campaigns.batch(1)));
            long next = s.nextOffset();
            for (int size : new int[] {64 * 1024 + 1, 1 << 20, 16 << 20}) {
                assertThatThrownBy(() -> await(s.append(RecordBatch.of(1, ByteBuffer.allocate(size)))))
                        .as("payload of %d bytes", size).isInstanceOf(RecordTooLargeException.class);
                assertThat(s.nextOffset()).isEqualTo(next);
            }
            assertThat(await(s.append(Campaigns.batch(2))).baseOffset()).as("the stream still works").isEqualTo(next);
            assertThat(await(s.append(RecordBatch.of(1, ByteBuffer.allocate(64 * 1024)))).baseOffset())
                    .as("exactly the maximum is fine").isEqualTo(next + Campaigns.count(2));
        }
    }

    @Test
    void closedHandlesClosedStoresDeletedAndFencedStreamsGiveTypedErrors() {
        DurableStreamStore store = StoreFixtures.campaign(dir).build();
        Stream s = await(store.createStream(StreamOptions.defaults()));
        await(s.append(Campaigns.batch(1)));
        assertThatThrownBy(() -> await(store.openStream(s.id(), 0))).as("same epoch while held")
                .isInstanceOf(StreamFencedException.class);
        assertThatThrownBy(() -> await(store.openStream(12345, 0))).isInstanceOf(StreamNotFoundException.class);
        await(s.close());
        await(s.close()); // idempotent
        assertThatThrownBy(() -> await(s.append(Campaigns.batch(2)))).isInstanceOf(StreamClosedException.class);
        assertThatThrownBy(() -> await(s.fetch(0, 1, 1))).isInstanceOf(StreamClosedException.class);
        assertThatThrownBy(() -> await(s.trim(1))).isInstanceOf(StreamClosedException.class);
        Stream higher = await(store.openStream(s.id(), 5));
        assertThatThrownBy(() -> await(store.openStream(s.id(), 4))).as("lower epoch")
                .isInstanceOf(StreamFencedException.class);
        Stream other = await(store.createStream(StreamOptions.defaults()));
        await(store.deleteStream(other.id(), 0));
        assertThatThrownBy(() -> await(other.append(Campaigns.batch(3)))).isInstanceOf(StreamNotFoundException.class);
        assertThatThrownBy(() -> await(store.openStream(other.id(), 1))).isInstanceOf(StreamNotFoundException.class);
        store.close();
        store.close(); // idempotent
        assertThatThrownBy(() -> await(higher.append(Campaigns.batch(4)))).isInstanceOf(StreamClosedException.class);
        assertThatThrownBy(() -> await(higher.fetch(0, 1, 1))).isInstanceOf(StreamClosedException.class);
        assertThatThrownBy(() -> await(store.createStream(StreamOptions.defaults()))).isInstanceOf(StreamClosedException.class);
        assertThatThrownBy(() -> await(store.openStream(s.id(), 6))).isInstanceOf(StreamClosedException.class);
        assertThatThrownBy(() -> await(store.deleteStream(s.id(), 6))).isInstanceOf(StreamClosedException.class);
        assertThatThrownBy(() -> await(store.flush())).isInstanceOf(StreamClosedException.class);
    }

    /**
     * Appenders on several threads while the handle, or the whole store, is closed: every append
     * completes (no hang), either acknowledged or failed with StreamClosedException; afterwards every
     * acknowledged batch is there, with no hole, also after a restart.
     */
    @Test
    void closeRacingAppendsLeavesOnlyAcknowledgedOrClosedOutcomes() throws Exception {
        long verified = 0;
        long refused = 0;
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            for (int round = 0; round < ROUNDS; round++) {
                long seed = Campaigns.BASE_SEED + round;
                boolean wholeStore = round % 2 == 1;
                Path roundDir = dir.resolve("round-" + round);
                AckLedger ledger = new AckLedger();
                Map<Long, Long> unexpected = new ConcurrentHashMap<>();
                List<Long> ids = new ArrayList<>();
                DurableStreamStore store = StoreFixtures.campaign(roundDir).build();
                List<Stream> streams = new ArrayList<>();
                for (int i = 0; i < 2; i++) {
                    Stream s = await(store.createStream(StreamOptions.defaults()));
                    streams.add(s);
                    ids.add(s.id());
                }
                CountDownLatch someAcked = new CountDownLatch(20);
                List<Future<Long>> workers = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    int thread = t;
                    workers.add(pool.submit(() -> {
                        long refusedHere = 0;
                        List<CompletableFuture<AppendResult>> mine = new ArrayList<>();
                        List<long[]> meta = new ArrayList<>();
                        for (int n = 0; n < 400; n++) {
                            Stream s = streams.get(thread % 2);
                            long bs = seed * 1_000_000L + thread * 10_000 + n;
                            mine.add(s.append(Campaigns.batch(bs)).whenComplete((r, e) -> someAcked.countDown()));
                            meta.add(new long[] {s.id(), bs});
                        }
                        for (int i = 0; i < mine.size(); i++) {
                            try {
                                AppendResult r = mine.get(i).get(Futures.TIMEOUT_SECONDS, TimeUnit.SECONDS);
                                ledger.ack(meta.get(i)[0], r.baseOffset(), meta.get(i)[1]);
                            } catch (java.util.concurrent.TimeoutException e) {
                                throw new AssertionError("seed " + seed + (wholeStore ? " store" : " stream handles")
                                        + " closed while appending: append of seed " + meta.get(i)[1] + " to stream "
                                        + meta.get(i)[0] + " neither completed nor failed within "
                                        + Futures.TIMEOUT_SECONDS + " s (hang)", e);
                            } catch (java.util.concurrent.ExecutionException e) {
                                Throwable cause = Futures.unwrap(e);
                                if (cause instanceof StreamClosedException
                                        || cause instanceof dev.strata.api.BackpressureException) {
                                    refusedHere++;
                                } else {
                                    unexpected.put(meta.get(i)[1], 0L);
                                    throw new AssertionError("seed " + seed + ": append failed with " + cause, cause);
                                }
                            }
                        }
                        return refusedHere;
                    }));
                }
                assertThat(someAcked.await(Futures.TIMEOUT_SECONDS, TimeUnit.SECONDS)).isTrue();
                if (wholeStore) {
                    store.close();
                } else {
                    for (Stream s : streams) {
                        await(s.close());
                    }
                }
                for (Future<Long> w : workers) {
                    refused += w.get(Futures.TIMEOUT_SECONDS, TimeUnit.SECONDS);
                }
                assertThat(unexpected).isEmpty();
                if (!wholeStore) {
                    for (long id : ids) {
                        verified += Campaigns.verifyAcknowledged(await(store.openStream(id, 0)), ledger,
                                "seed " + seed + " re-opened after handle close");
                    }
                    store.close();
                }
                try (DurableStreamStore again = StoreFixtures.campaign(roundDir).build()) {
                    for (long id : ids) {
                        verified += Campaigns.verifyAcknowledged(await(again.openStream(id, 1)), ledger,
                                "seed " + seed + " after restart");
                    }
                }
            }
        } finally {
            pool.shutdownNow();
        }
        Campaigns.report("ApiMisuseTest.closeRacingAppends", "rounds=" + ROUNDS + " appendsRefusedClosed=" + refused
                + " batchesVerified=" + verified + " losses=0 untypedErrors=0");
    }
}
