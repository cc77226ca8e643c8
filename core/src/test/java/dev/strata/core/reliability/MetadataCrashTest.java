package dev.strata.core.reliability;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamFencedException;
import dev.strata.api.StreamNotFoundException;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StoreFixtures;
import dev.strata.testkit.ChildJvm;
import dev.strata.testkit.Futures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL during a storm of metadata changes (issue 19): the child ({@link MetadataStormChild}) runs
 * {@value MetadataStormChild#LANES} lanes that create streams, append, trim, re-open at higher epochs
 * and delete, all at once, and writes every call it makes ({@code ASK}) and every acknowledgement
 * ({@code ACK}) to a ledger file. The test kills it after a random number of acknowledgements (the
 * seed is in every failure message; {@code -Dstrata.seed=N} replays another), opens the store as a
 * replacement process would, and checks against the ledger:
 * <ul>
 *   <li>ids are contiguous from 1: the next created stream gets id {@code C + 1} with
 *       {@code C} at least the highest acknowledged id and at most the number of creates asked for;
 *       every id up to {@code C} exists (unless a delete of it was asked for: an acknowledged delete
 *       must hold), none above it does;</li>
 *   <li>a stream's epoch is at least the last acknowledged one (the epoch below it is fenced) and at
 *       most the last asked for (opening there succeeds);</li>
 *   <li>its start offset is at least the last acknowledged trim and at most the last trim asked for;</li>
 *   <li>its next offset ends one of its batches from the last acknowledged one to the last asked for,
 *       and it reads back exactly those batches, at their offsets, with their bytes;</li>
 *   <li>a stream whose creation was never acknowledged (in flight at the kill) is empty.</li>
 * </ul>
 * Each round runs on a new directory. CI: 2 rounds; {@code -Dstrata.long=true}: 20.
 */
class MetadataCrashTest {
    private static final int ROUNDS = Campaigns.rounds(2, 20);

    /** Changes in flight at the kill that landed, seen by the checks (for the report). */
    private static final java.util.concurrent.atomic.AtomicLong LANDED_CREATES = new java.util.concurrent.atomic.AtomicLong();
    private static final java.util.concurrent.atomic.AtomicLong LANDED_TRIMS = new java.util.concurrent.atomic.AtomicLong();
    private static final java.util.concurrent.atomic.AtomicLong LANDED_DELETES = new java.util.concurrent.atomic.AtomicLong();

    @TempDir
    Path dir;

    /** What the ledger says about one stream. Epochs and trims are the highest seen; -1: none. */
    private static final class Asked {
        long createEpoch = -1; // -1: creation not acknowledged
        long appendsAsked; // batches asked for (indices 0 .. appendsAsked - 1)
        long appendsAcked;
        long trimAsked;
        long trimAcked;
        long epochAsked = -1;
        long epochAcked = -1;
        boolean deleteAsked;
        boolean deleteAcked;
    }

    private static final class Ledger {
        final Map<Long, Asked> streams = new TreeMap<>();
        int createsAsked;
        long highestAckedId;
        long acks;

        Asked of(long id) {
            return streams.computeIfAbsent(id, k -> new Asked());
        }
    }

    @Test
    void everyAcknowledgedMetadataChangeSurvivesSigkillAndNothingElseAppears() throws Exception {
        long streamsChecked = 0;
        long acks = 0;
        for (int round = 0; round < ROUNDS; round++) {
            long seed = Campaigns.BASE_SEED + round;
            int killAfter = 50 + new SplittableRandom(seed).nextInt(500);
            String context = "round " + round + " seed " + seed + " killAfter " + killAfter;
            Path store = dir.resolve("store-" + round);
            Path ledgerFile = dir.resolve("ledger-" + round + ".txt");
            long t0 = System.nanoTime();
            runChildAndKill(store, ledgerFile, seed, killAfter, context);
            long t1 = System.nanoTime();
            Ledger ledger = parse(ledgerFile);
            assertThat(ledger.acks).as(context).isGreaterThanOrEqualTo(killAfter);
            streamsChecked += verify(store, ledger, context);
            System.out.println(context + ": child ran " + TimeUnit.NANOSECONDS.toMillis(t1 - t0) + " ms, verified in "
                    + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t1) + " ms");
            acks += ledger.acks;
        }
        Campaigns.report("MetadataCrashTest", "rounds=" + ROUNDS + " acknowledgedChanges=" + acks + " streamsChecked="
                + streamsChecked + " unacknowledgedThatLanded(creates=" + LANDED_CREATES + " trims=" + LANDED_TRIMS + " deletes="
                + LANDED_DELETES + ") lost=0 impossible=0");
    }

    private void runChildAndKill(Path store, Path ledger, long seed, int killAfter, String context) throws Exception {
        int[] acks = {0};
        long started = System.nanoTime();
        try (ChildJvm child = ChildJvm.of(MetadataStormChild.class).jvmArgs("-Xmx256m")
                .args(store.toString(), ledger.toString(), String.valueOf(seed))
                .stderrTo(dir.resolve(store.getFileName() + ".err")).start()) {
            // the ledger file has everything; stdout only paces the kill
            child.readLinesKillingWhen(line -> {
                if (line.startsWith("ERR")) {
                    throw new AssertionError(context + ": child failed: " + line + "; stderr:\n" + child.stderr());
                }
                if (line.equals("READY")) {
                    System.out.println("child ready after " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started) + " ms");
                }
                if (line.equals("ACK")) {
                    acks[0]++;
                }
            }, () -> acks[0] >= killAfter); // SIGKILL: changes in flight are cut off wherever they are
            child.close();
            assertThat(acks[0]).as("%s: acknowledgements; child stderr:%n%s", context, child.stderr())
                    .isGreaterThanOrEqualTo(killAfter);
        }
    }

    /** Reads the ledger; a last line without a newline was cut by the kill and is ignored. */
    private static Ledger parse(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        Ledger l = new Ledger();
        String[] lines = text.split("\n", -1); // the last element is "" or the cut line
        for (int n = 0; n < lines.length - 1; n++) {
            String[] f = lines[n].split(" ");
            boolean ack = f[0].equals("ACK");
            if (ack) {
                l.acks++;
            }
            switch (f[1]) {
                case "CREATE" -> {
                    if (ack) {
                        long id = Long.parseLong(f[2]);
                        l.of(id).createEpoch = Long.parseLong(f[4]);
                        l.highestAckedId = Math.max(l.highestAckedId, id);
                    } else {
                        l.createsAsked++;
                    }
                }
                case "APPEND" -> {
                    Asked a = l.of(Long.parseLong(f[2]));
                    long i = Long.parseLong(f[3]);
                    if (ack) {
                        a.appendsAcked = Math.max(a.appendsAcked, i + 1);
                    } else {
                        a.appendsAsked = Math.max(a.appendsAsked, i + 1);
                    }
                }
                case "TRIM" -> {
                    Asked a = l.of(Long.parseLong(f[2]));
                    long to = Long.parseLong(f[3]);
                    if (ack) {
                        a.trimAcked = Math.max(a.trimAcked, to);
                    } else {
                        a.trimAsked = Math.max(a.trimAsked, to);
                    }
                }
                case "OPEN" -> {
                    Asked a = l.of(Long.parseLong(f[2]));
                    long epoch = Long.parseLong(f[3]);
                    if (ack) {
                        a.epochAcked = Math.max(a.epochAcked, epoch);
                    } else {
                        a.epochAsked = Math.max(a.epochAsked, epoch);
                    }
                }
                case "DELETE" -> {
                    Asked a = l.of(Long.parseLong(f[2]));
                    if (ack) {
                        a.deleteAcked = true;
                    } else {
                        a.deleteAsked = true;
                    }
                }
                default -> throw new AssertionError("unexpected ledger line " + n + ": " + lines[n]);
            }
        }
        return l;
    }

    /** Checks the reopened store against the ledger; returns how many streams were checked. */
    private long verify(Path storeDir, Ledger ledger, String context) {
        try (DurableStreamStore store = StoreFixtures.campaign(storeDir).build()) {
            long created = await(store.createStream(StreamOptions.defaults())).id() - 1;
            String ctx = context + " (ids 1.." + created + " exist; " + ledger.createsAsked + " creates asked, highest id "
                    + "acknowledged " + ledger.highestAckedId + ")";
            assertThat(created).as("%s: streams created", ctx)
                    .isBetween(ledger.highestAckedId, (long) ledger.createsAsked);
            List<CompletableFuture<Void>> checks = new ArrayList<>();
            Map<Long, Stream> opened = new TreeMap<>();
            for (long id = 1; id <= created; id++) {
                checks.add(check(store, id, ledger.streams.get(id), opened, ctx));
            }
            for (long id = created + 2; id <= ledger.createsAsked + 3L; id++) {
                checks.add(expect(store.openStream(id, 0), StreamNotFoundException.class, ctx + ": stream " + id
                        + " above the highest created"));
            }
            for (CompletableFuture<Void> c : checks) {
                await(c);
            }
            for (Map.Entry<Long, Stream> e : opened.entrySet()) {
                verifyBatches(e.getValue(), ledger.streams.get(e.getKey()), ctx);
            }
            System.out.println(context + ": created=" + created + " acks=" + ledger.acks + " open=" + opened.size() + "; "
                    + store.recoveryReport().summary());
            return created;
        }
    }

    private static CompletableFuture<Void> check(DurableStreamStore store, long id, Asked a, Map<Long, Stream> opened,
            String ctx) {
        if (a == null || a.createEpoch < 0) {
            // created by a call in flight at the kill: nothing else was asked of it
            LANDED_CREATES.incrementAndGet();
            assertThat(a == null || a.appendsAsked + a.trimAsked + a.epochAsked + 1 == 0 && !a.deleteAsked)
                    .as("%s: the ledger asks for changes to stream %d, whose create it never acknowledged", ctx, id).isTrue();
            return store.openStream(id, 2).handle((s, e) -> { // created at epoch k % 3 for some k
                assertThat(e).as("%s: open of stream %d, created by a call in flight at the kill", ctx, id).isNull();
                assertThat(s.startOffset()).as("%s: start of unacknowledged stream %d", ctx, id).isZero();
                assertThat(s.nextOffset()).as("%s: next of unacknowledged stream %d", ctx, id).isZero();
                return null;
            });
        }
        long lowest = Math.max(a.createEpoch, a.epochAcked);
        long highest = Math.max(a.createEpoch, a.epochAsked);
        if (a.deleteAcked) {
            return expect(store.openStream(id, highest), StreamNotFoundException.class, ctx + ": deleted stream " + id);
        }
        String below = ctx + ": stream " + id + " at epoch " + (lowest - 1) + " below its acknowledged epoch " + lowest;
        CompletableFuture<Void> fenced;
        if (lowest == 0) {
            fenced = CompletableFuture.completedFuture(null);
        } else if (a.deleteAsked) { // a delete in flight at the kill may have landed: then not found, at any epoch
            fenced = expect(store.openStream(id, lowest - 1), StreamFencedException.class, StreamNotFoundException.class,
                    below + " (delete in flight)");
        } else {
            fenced = expect(store.openStream(id, lowest - 1), StreamFencedException.class, below);
        }
        return fenced.thenCompose(v -> store.openStream(id, highest).handle((s, e) -> {
            if (e != null && a.deleteAsked && Futures.unwrap(e) instanceof StreamNotFoundException) {
                LANDED_DELETES.incrementAndGet();
                return null;
            }
            assertThat(e).as("%s: open of stream %d at its highest asked epoch %d (acknowledged %d)", ctx, id, highest,
                    lowest).isNull();
            assertThat(s.startOffset()).as("%s: start of stream %d (acknowledged trim %d, asked %d)", ctx, id, a.trimAcked,
                    a.trimAsked).isBetween(a.trimAcked, Math.max(a.trimAcked, a.trimAsked));
            synchronized (opened) {
                opened.put(id, s);
            }
            if (s.startOffset() > a.trimAcked) {
                LANDED_TRIMS.incrementAndGet();
            }
            return null;
        }));
    }

    /** The next offset ends a batch from the last acknowledged to the last asked; the batches read are those. */
    private static void verifyBatches(Stream s, Asked a, String ctx) {
        long[] ends = new long[(int) Math.max(a.appendsAsked, a.appendsAcked) + 1]; // ends[j]: end of batches 0..j-1
        for (int i = 1; i < ends.length; i++) {
            ends[i] = ends[i - 1] + Campaigns.count(MetadataStormChild.seed(s.id(), i - 1));
        }
        int batches = -1;
        for (int j = (int) a.appendsAcked; j < ends.length; j++) {
            if (ends[j] == s.nextOffset()) {
                batches = j;
            }
        }
        assertThat(batches).as("%s: next offset %d of stream %d ends batch %d..%d (ends %s)", ctx, s.nextOffset(), s.id(),
                a.appendsAcked, ends.length - 1, java.util.Arrays.toString(ends)).isNotNegative();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < batches; i++) {
            if (ends[i + 1] > s.startOffset()) {
                long seed = MetadataStormChild.seed(s.id(), i);
                expected.add(ends[i] + "+" + Campaigns.count(seed) + " seed " + seed);
            }
        }
        List<String> read = new ArrayList<>();
        long offset = s.startOffset();
        while (offset < s.nextOffset()) {
            try (FetchResult r = await(s.fetch(offset, Long.MAX_VALUE, 256 * 1024))) {
                assertThat(r.batches()).as("%s: fetch of stream %d at %d", ctx, s.id(), offset).isNotEmpty();
                for (FetchedBatch b : r.batches()) {
                    byte[] bytes = new byte[b.sizeBytes()];
                    b.payload().get(bytes);
                    boolean genuine = Campaigns.isGenuine(bytes) && b.count() == Campaigns.count(Campaigns.seedOf(bytes));
                    read.add(b.baseOffset() + "+" + b.count() + " seed " + (bytes.length >= 8 ? Campaigns.seedOf(bytes) : -1)
                            + (genuine ? "" : " damaged"));
                    offset = b.nextOffset();
                }
            }
        }
        assertThat(read).as("%s: batches of stream %d [%d, %d)", ctx, s.id(), s.startOffset(), s.nextOffset())
                .isEqualTo(expected);
    }

    private static CompletableFuture<Void> expect(CompletableFuture<?> call, Class<? extends Throwable> type, String what) {
        return expect(call, type, type, what);
    }

    /** Expects the call to fail with {@code type} or {@code orType}. */
    private static CompletableFuture<Void> expect(CompletableFuture<?> call, Class<? extends Throwable> type,
            Class<? extends Throwable> orType, String what) {
        return call.handle((r, e) -> {
            assertThat(e).as("%s: expected %s", what, type.getSimpleName()).isNotNull();
            assertThat(Futures.unwrap(e)).as(what).isInstanceOfAny(type, orType);
            return null;
        });
    }
}
