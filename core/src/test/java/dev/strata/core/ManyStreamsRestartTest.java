package dev.strata.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamFencedException;
import dev.strata.api.StreamNotFoundException;
import dev.strata.api.StreamOptions;
import dev.strata.testkit.Futures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongPredicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many streams, many metadata changes issued at once, two restarts (issue 19): every stream's
 * existence, epoch, start and next offset, and bytes must survive, whatever way the metadata store
 * groups, orders or batches the changes it persists.
 *
 * <p>Round 0: {@code N} {@code createStream} calls issued at once (creation epochs 0, 1, 2 in turn),
 * then a few batches appended to each (0 to 3 batches of 1 to 3 records, so offsets differ), then
 * {@value #SEQUENTIAL} re-opens one after the other, each awaited: a store that groups concurrent
 * changes still writes these one manifest version each, so every round crosses several manifest
 * snapshots (one every 64 versions). Then, all issued at once across the streams: trims to various
 * offsets, deletes, re-opens with a higher epoch, per-stream sequences of them (trim then
 * re-open, trim then delete, re-open then append then trim), and a create for every 20 streams.
 * These come last, so a restart reads a snapshot and replays the last of them (or, grouped, all of
 * them) from the log. Then
 * {@value #BURSTS} bursts of about 50 changes of every kind issued at once, each followed by a
 * restart and a check of the streams it touched: whatever the store persists last before a restart is
 * then a mix of every kind of change. Then the store is closed and a new one built on the same
 * directory, which checks every stream: a deleted one is {@link StreamNotFoundException}; a live one
 * opens at its last epoch, refuses the epoch below it with {@link StreamFencedException}, has the
 * start and next offsets written, and reads back exactly the batches written at or above its start.
 * Round 1 on the restarted store: {@code N / 10} new streams (their ids must follow the highest id
 * ever created: deleted ids are not reused), the same steps over them and a quarter of the old
 * streams, and a second restart that checks everything again.
 *
 * <p>CI size: {@value #DEFAULT_STREAMS} streams. The 100,000-stream run, with Netty's leak
 * detector at {@code simple} (at {@code paranoid} it keeps access records of every live buffer: with
 * 4 GiB of heap that run ran out of memory after 7 minutes) and 4 GiB of heap:
 * <pre>
 * mvn -B -pl core -am test -Dtest=ManyStreamsRestartTest -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dstrata.scale.streams=100000 \
 *     -Dstrata.test.argLine="-Dio.netty.leakDetection.level=simple -Xmx4g -XX:MaxDirectMemorySize=1g"
 * </pre>
 * Measured on 2026-12-06 with group commit: passed in 191 s on 2 cores (before group commit: 18
 * minutes). Every check opens the stream, which is a metadata change too. Each run prints a line {@code SCALE ManyStreamsRestartTest ...} with its
 * phase times.
 */
class ManyStreamsRestartTest {

    private static final int DEFAULT_STREAMS = 2_000;
    /** {@code -Dstrata.scale.streams=N} sets the number of streams of round 0. */
    private static final int STREAMS = Integer.getInteger("strata.scale.streams", DEFAULT_STREAMS);
    /** Changes made one at a time in each round: more than 3 snapshot intervals of 64, not a multiple of 64. */
    private static final int SEQUENTIAL = 3 * 64 + 17;
    /** Streams checked at once after a restart (opens issued together, then reads). */
    private static final int VERIFY_WINDOW = 5_000;
    /** Burst-and-restart cycles at the end of each round. */
    private static final int BURSTS = 3;

    @TempDir
    Path dir;

    /** What the test wrote to one stream. A stream's model is changed only by its own chain of calls. */
    private static final class Model {
        final long id;
        volatile long epoch;
        volatile long start;
        volatile long next;
        volatile boolean deleted;
        /** {base, count, seed} of every batch written, in offset order. */
        final List<long[]> batches = new ArrayList<>();
        volatile Stream handle;
        /** Handles replaced by a re-open at a higher epoch: each must be fenced. */
        final List<Stream> fenced = new ArrayList<>();

        Model(long id, long epoch, Stream handle) {
            this.id = id;
            this.epoch = epoch;
            this.handle = handle;
        }
    }

    private final Map<Long, Model> models = new ConcurrentHashMap<>();
    private final StringBuilder times = new StringBuilder();

    private Strata.Builder builder() {
        // per stream at most ~12 batches of <= 72 bytes, ~130 bytes each in the WAL and the cache
        return Strata.builder()
                .dataDir(dir)
                .walCapacity(Math.max(64L << 20, STREAMS * 4096L))
                .logCacheBytes(Math.max(32L << 20, STREAMS * 2048L))
                .blockCacheBytes(8L << 20)
                .uploadThresholdBytes(4L << 20)
                .uploadInterval(Duration.ofMillis(200))
                .maxBatchBytes(64 * 1024)
                .objectBlockBytes(16 * 1024);
    }

    @Test
    void everyStreamsOffsetsEpochAndBytesSurviveTwoRestarts() throws Exception {
        long began = System.nanoTime();
        DurableStreamStore store = builder().build();
        try {
            long t = System.nanoTime();
            createAll(store, STREAMS, 1, "round 0");
            lap("create", t, STREAMS);
            storm(store, 0, id -> true);
            t = System.nanoTime();
            store = bursts(store, 0);
            lap("bursts0", t, BURSTS);

            store = restart(store);
            t = System.nanoTime();
            verify(store, models.values(), "restart 1");
            lap("verify1", t, models.size());
            t = System.nanoTime();
            int more = Math.max(1, STREAMS / 10);
            createAll(store, more, models.size() + 1, "round 1");
            lap("create1", t, more);
            storm(store, 1, id -> id > STREAMS || id % 4 == 0); // the new streams and a quarter of the old
            t = System.nanoTime();
            store = bursts(store, 1);
            lap("bursts1", t, BURSTS);

            store = restart(store);
            t = System.nanoTime();
            verify(store, models.values(), "restart 2");
            lap("verify2", t, models.size());
            Stream created = Futures.await(store.createStream(StreamOptions.defaults()));
            assertThat(created.id()).as("the next id after %d created streams", models.size()).isEqualTo(models.size() + 1L);
        } finally {
            store.close();
        }
        long deleted = models.values().stream().filter(m -> m.deleted).count();
        System.out.println("SCALE ManyStreamsRestartTest streams=" + models.size() + " deleted=" + deleted
                + " manifestSnapshots=" + countFiles(dir.resolve("objects"), "snapshot") + " totalMs="
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began) + times);
    }

    /** Closes the store and builds a new one on the same directory; every handle is gone. */
    private DurableStreamStore restart(DurableStreamStore store) {
        store.close();
        for (Model m : models.values()) {
            m.handle = null;
            m.fenced.clear();
        }
        return builder().build();
    }

    /**
     * {@value #BURSTS} times: about 50 changes of every kind issued at once (creates at epochs 0-2,
     * trims, re-opens, deletes, appends then trims, interleaved), a restart, and a check of the
     * streams the burst touched. With the changes persisted one per version, the last versions
     * before each restart (those after the last snapshot, replayed from the log) are a mix of every
     * kind; grouped, the whole burst is.
     */
    private DurableStreamStore bursts(DurableStreamStore store, int round) {
        List<Model> pool = models.values().stream().filter(m -> !m.deleted && m.handle != null)
                .sorted((a, b) -> Long.compare(a.id, b.id)).toList();
        for (int cycle = 0; cycle < BURSTS; cycle++) {
            String context = "round " + round + " burst " + cycle;
            int stride = Math.max(1, pool.size() / 36);
            List<Model> picked = new ArrayList<>();
            for (int i = cycle % stride; i < pool.size() && picked.size() < 36; i += stride) {
                picked.add(pool.get(i));
            }
            int createsBefore = models.size();
            List<Long> created = java.util.Collections.synchronizedList(new ArrayList<>());
            List<CompletableFuture<Void>> burst = new ArrayList<>();
            for (int j = 0; j + 2 < picked.size(); j += 3) {
                long createEpoch = (j + cycle) % 3;
                burst.add(store.createStream(StreamOptions.defaults().withEpoch(createEpoch)).thenAccept(s -> {
                    assertThat(s.epoch()).as("%s: epoch of stream %d", context, s.id()).isEqualTo(createEpoch);
                    assertThat(models.put(s.id(), new Model(s.id(), s.epoch(), s))).as("%s: id %d twice", context, s.id())
                            .isNull();
                    created.add(s.id());
                }));
                Model a = picked.get(j);
                Model b = picked.get(j + 1);
                Model c = picked.get(j + 2);
                burst.add(trim(a, round + cycle + 1));
                burst.add(reopen(store, b, b.epoch + 1 + j % 2));
                int salt = round + cycle;
                burst.add(j % 4 == 0 ? delete(store, c)
                        : append(c, 10 + round * BURSTS + cycle, 0).thenCompose(v -> trim(c, salt)));
            }
            joinAll(burst, context);
            for (long id = createsBefore + 1; id <= models.size(); id++) {
                assertThat(created).as("%s: ids created follow %d", context, createsBefore).contains(id);
            }
            store = restart(store);
            List<Model> touched = new ArrayList<>(picked);
            created.forEach(id -> touched.add(models.get(id)));
            verify(store, touched, context + " restart");
            pool = touched.stream().filter(m -> !m.deleted).sorted((x, y) -> Long.compare(x.id, y.id)).toList();
        }
        return store;
    }

    // ---- round steps ------------------------------------------------------------------------------------

    /** Issues {@code n} createStream calls at once; the ids must be exactly {@code firstId .. firstId + n - 1}. */
    private void createAll(DurableStreamStore store, int n, long firstId, String context) {
        List<CompletableFuture<Stream>> creates = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            creates.add(store.createStream(StreamOptions.defaults().withEpoch(i % 3)));
        }
        joinAll(creates, context + ": createStream");
        for (int i = 0; i < n; i++) {
            Stream s = creates.get(i).join();
            assertThat(s.epoch()).as("%s: epoch of the stream created by call %d (id %d)", context, i, s.id()).isEqualTo(i % 3);
            assertThat(s.startOffset()).isZero();
            assertThat(s.nextOffset()).isZero();
            Model previous = models.put(s.id(), new Model(s.id(), s.epoch(), s));
            assertThat(previous).as("%s: stream id %d handed out twice", context, s.id()).isNull();
        }
        assertThat(models.keySet()).as("%s: ids are contiguous from 1", context).hasSize((int) (firstId - 1 + n));
        for (long id = firstId; id < firstId + n; id++) {
            assertThat(models).as("%s: id %d", context, id).containsKey(id);
        }
    }

    /**
     * Appends to every live stream, then makes the {@value #SEQUENTIAL} one-at-a-time re-opens, then
     * issues all the round's other changes at once, then checks that every replaced handle is fenced.
     */
    private void storm(DurableStreamStore store, int round, LongPredicate touched) {
        List<Model> live = models.values().stream().filter(m -> !m.deleted && touched.test(m.id))
                .sorted((a, b) -> Long.compare(a.id, b.id)).toList();
        long t = System.nanoTime();
        List<CompletableFuture<Void>> appends = new ArrayList<>();
        for (Model m : live) {
            CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
            for (int b = 0; b < Math.floorMod(m.id + round, 4); b++) {
                int batch = b;
                chain = chain.thenCompose(v -> append(m, round, batch));
            }
            appends.add(chain);
        }
        joinAll(appends, "round " + round + ": appends");
        lap("append" + round, t, appends.size());

        t = System.nanoTime();
        for (int i = 0; i < SEQUENTIAL; i++) {
            Model m = live.get(i % live.size());
            joinAll(List.of(reopen(store, m, m.epoch + 1)), "round " + round + ": sequential re-open " + i);
        }
        lap("sequential" + round, t, SEQUENTIAL);

        t = System.nanoTime();
        List<CompletableFuture<Void>> changes = new ArrayList<>();
        int createsBefore = models.size();
        int storming = 0;
        for (Model m : live) {
            if (storming++ % 20 == 0) {
                long createEpoch = storming % 3;
                changes.add(store.createStream(StreamOptions.defaults().withEpoch(createEpoch)).thenAccept(s -> {
                    assertThat(s.epoch()).as("epoch of stream %d created in the storm", s.id()).isEqualTo(createEpoch);
                    assertThat(models.put(s.id(), new Model(s.id(), s.epoch(), s))).as("stream id %d handed out twice", s.id())
                            .isNull();
                }));
            }
            long epoch = m.epoch + 1 + Math.floorMod(m.id, 3);
            CompletableFuture<Void> op = switch ((int) Math.floorMod(m.id + 3L * round, 10L)) {
                case 0, 1, 2 -> trim(m, round);
                case 3 -> delete(store, m);
                case 4, 5 -> reopen(store, m, epoch);
                case 6 -> trim(m, round).thenCompose(v -> reopen(store, m, epoch));
                case 7 -> trim(m, round).thenCompose(v -> delete(store, m));
                case 8 -> reopen(store, m, epoch).thenCompose(v -> append(m, round, 9)).thenCompose(v -> trim(m, round));
                default -> CompletableFuture.completedFuture(null);
            };
            changes.add(op);
        }
        joinAll(changes, "round " + round + ": creates, trims, deletes and re-opens");
        for (long id = createsBefore + 1; id <= models.size(); id++) {
            assertThat(models).as("round %d: ids created in the storm follow %d", round, createsBefore).containsKey(id);
        }
        lap("changes" + round, t, changes.size());

        List<CompletableFuture<Void>> fencing = new ArrayList<>();
        for (Model m : live) {
            for (Stream old : m.fenced) {
                fencing.add(expectFailure(old.append(batch(seed(m.id, round, 99))),
                        m.deleted ? StreamNotFoundException.class : StreamFencedException.class,
                        "append through stream " + m.id + "'s handle at epoch " + old.epoch() + " after a re-open at "
                                + m.epoch + (m.deleted ? " and a delete" : "")));
            }
        }
        joinAll(fencing, "round " + round + ": fenced handles");
    }

    private CompletableFuture<Void> append(Model m, int round, int batch) {
        long seed = seed(m.id, round, batch);
        return m.handle.append(batch(seed)).thenAccept(r -> {
            assertThat(r.baseOffset()).as("base offset of stream %d batch %d", m.id, batch).isEqualTo(m.next);
            m.batches.add(new long[] {r.baseOffset(), count(seed), seed});
            m.next += count(seed);
        });
    }

    /** Trims to an offset in {@code [start, next]} that depends on the id and round (so also no-op trims). */
    private static CompletableFuture<Void> trim(Model m, int round) {
        long to = m.start + Math.floorMod(m.id * 7 + round, m.next - m.start + 1);
        return m.handle.trim(to).thenRun(() -> {
            assertThat(m.handle.startOffset()).as("start offset of stream %d after trim to %d", m.id, to).isEqualTo(to);
            m.start = to;
        });
    }

    private static CompletableFuture<Void> delete(DurableStreamStore store, Model m) {
        return store.deleteStream(m.id, m.epoch).thenRun(() -> {
            m.deleted = true;
            m.handle = null;
        });
    }

    private static CompletableFuture<Void> reopen(DurableStreamStore store, Model m, long epoch) {
        Stream old = m.handle;
        return store.openStream(m.id, epoch).thenAccept(s -> {
            assertThat(s.epoch()).isEqualTo(epoch);
            assertThat(s.startOffset()).as("start offset of stream %d re-opened at epoch %d", m.id, epoch).isEqualTo(m.start);
            assertThat(s.nextOffset()).as("next offset of stream %d re-opened at epoch %d", m.id, epoch).isEqualTo(m.next);
            m.fenced.add(old);
            m.handle = s;
            m.epoch = epoch;
        });
    }

    // ---- verification -----------------------------------------------------------------------------------

    /**
     * Checks {@code which} streams: deleted ones are not found; live ones open at their epoch (not
     * below it) with their offsets, and read back exactly what was written at or above the start.
     */
    private void verify(DurableStreamStore store, java.util.Collection<Model> which, String context) {
        List<Model> all = new ArrayList<>(which);
        for (int from = 0; from < all.size(); from += VERIFY_WINDOW) {
            verifyWindow(store, all.subList(from, Math.min(all.size(), from + VERIFY_WINDOW)), context);
        }
    }

    private void verifyWindow(DurableStreamStore store, List<Model> which, String context) {
        List<CompletableFuture<Void>> checks = new ArrayList<>();
        for (Model m : which) {
            if (m.deleted) {
                checks.add(expectFailure(store.openStream(m.id, m.epoch), StreamNotFoundException.class,
                        context + ": open of deleted stream " + m.id));
                continue;
            }
            if (m.epoch > 0) {
                checks.add(expectFailure(store.openStream(m.id, m.epoch - 1), StreamFencedException.class,
                        context + ": open of stream " + m.id + " at epoch " + (m.epoch - 1) + " below its epoch " + m.epoch));
            }
            checks.add(store.openStream(m.id, m.epoch).handle((s, e) -> {
                assertThat(e).as("%s: open of stream %d at its epoch %d", context, m.id, m.epoch).isNull();
                assertThat(s.startOffset()).as("%s: start offset of stream %d", context, m.id).isEqualTo(m.start);
                assertThat(s.nextOffset()).as("%s: next offset of stream %d", context, m.id).isEqualTo(m.next);
                m.handle = s;
                return null;
            }));
        }
        joinAll(checks, context + ": opens");
        for (Model m : which) {
            if (!m.deleted) {
                assertThat(readAll(m.handle)).as("%s: batches of stream %d [%d, %d)", context, m.id, m.start, m.next)
                        .isEqualTo(expectedBatches(m));
            }
        }
    }

    private static List<String> expectedBatches(Model m) {
        List<String> out = new ArrayList<>();
        for (long[] b : m.batches) {
            if (b[0] + b[1] > m.start) {
                out.add(b[0] + "+" + b[1] + " seed " + b[2]);
            }
        }
        return out;
    }

    /** Every batch from the start offset to the end: "base+count seed S", or "... damaged" for wrong bytes. */
    private static List<String> readAll(Stream s) {
        List<String> out = new ArrayList<>();
        long offset = s.startOffset();
        while (offset < s.nextOffset()) {
            try (FetchResult r = Futures.await(s.fetch(offset, Long.MAX_VALUE, 1 << 20))) {
                assertThat(r.batches()).as("fetch of stream %d at %d (next %d)", s.id(), offset, s.nextOffset()).isNotEmpty();
                for (FetchedBatch b : r.batches()) {
                    byte[] bytes = new byte[b.sizeBytes()];
                    b.payload().get(bytes);
                    long seed = bytes.length >= 8 ? ByteBuffer.wrap(bytes).getLong(0) : -1;
                    boolean genuine = Arrays.equals(bytes, payload(seed)) && b.count() == count(seed);
                    out.add(b.baseOffset() + "+" + b.count() + " seed " + seed + (genuine ? "" : " damaged"));
                    offset = b.nextOffset();
                }
            }
        }
        return out;
    }

    // ---- payloads and helpers ---------------------------------------------------------------------------

    private static long seed(long id, int round, int batch) {
        return (id << 16) | ((long) round << 8) | batch;
    }

    /** 1 to 3 records, depending on the seed. */
    private static int count(long seed) {
        return 1 + (int) Math.floorMod(seed * 0x9E3779B97F4A7C15L >>> 40, 3L);
    }

    /** 8 bytes of seed, then 0 to 63 bytes derived from it. */
    private static byte[] payload(long seed) {
        byte[] b = new byte[8 + (int) Math.floorMod(seed * 31 + 7, 64L)];
        ByteBuffer.wrap(b).putLong(0, seed);
        for (int i = 8; i < b.length; i++) {
            b[i] = (byte) (seed * 131 + i);
        }
        return b;
    }

    private static RecordBatch batch(long seed) {
        return RecordBatch.of(count(seed), ByteBuffer.wrap(payload(seed)));
    }

    private static CompletableFuture<Void> expectFailure(CompletableFuture<?> call, Class<? extends Throwable> type, String what) {
        return call.handle((r, e) -> {
            assertThat(e).as("%s: expected %s", what, type.getSimpleName()).isNotNull();
            assertThat(Futures.unwrap(e)).as(what).isInstanceOf(type);
            return null;
        });
    }

    /** Waits for all, bounded by 60 s plus 20 ms per call; rethrows the first failure's cause. */
    private static <T> void joinAll(List<? extends CompletableFuture<? extends T>> futures, String what) {
        try {
            CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0]))
                    .get(60_000 + 20L * futures.size(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable cause = Futures.unwrap(e);
            if (cause instanceof AssertionError a) {
                throw a;
            }
            throw new AssertionError(what + " failed", cause);
        } catch (TimeoutException e) {
            long done = futures.stream().filter(CompletableFuture::isDone).count();
            throw new AssertionError(what + ": " + done + " of " + futures.size() + " calls done in time", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(what + ": interrupted", e);
        }
    }

    private void lap(String phase, long startNanos, int calls) {
        times.append(' ').append(phase).append('=').append(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos))
                .append("ms/").append(calls);
    }

    /** Diagnostics only: files in directories named {@code name} below {@code root}. */
    private static long countFiles(Path root, String name) throws IOException {
        try (java.util.stream.Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> Files.isRegularFile(p) && p.getParent().getFileName().toString().equals(name)).count();
        }
    }
}
