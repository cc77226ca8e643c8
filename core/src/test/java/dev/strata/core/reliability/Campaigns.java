package dev.strata.core.reliability;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.FetchResult;
import dev.strata.api.FetchedBatch;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.core.Strata;
import dev.strata.testkit.AckLedger;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Shared pieces of the reliability campaigns: self-describing payloads and the verifier that reads
 * streams back against a {@link AckLedger} of what the store acknowledged.
 *
 * <p>Payloads are self-describing: the first 8 bytes are a seed and the rest is derived from it, so
 * the verifier can tell a genuine batch from damaged bytes even for batches whose acknowledgement it
 * never saw (in flight at a crash or fault). The record count of a batch is derived from the seed too.
 *
 * <p>Every campaign prints one line {@code RELIABILITY campaign=... } with its totals, which
 * RELIABILITY.md quotes.
 */
final class Campaigns {
    /** {@code -Dstrata.long=true} runs the long versions of the campaigns. */
    static final boolean LONG = Boolean.getBoolean("strata.long");
    /** Base seed of all campaigns; {@code -Dstrata.seed=N} replays another run. */
    static final long BASE_SEED = Long.getLong("strata.seed", 20261122L);

    private Campaigns() {
    }

    static int rounds(int ci, int longRun) {
        return LONG ? longRun : ci;
    }

    /** How often {@link #openAfterDamage} found the open refused for lost WAL data (then opened it anyway). */
    static final java.util.concurrent.atomic.AtomicLong REFUSED_OPENS = new java.util.concurrent.atomic.AtomicLong();

    /**
     * Opens a store on a damaged WAL the way an operator would: first with the defaults, which must
     * either open (and then the WAL proved no loss of acknowledged data) or refuse with
     * {@link dev.strata.api.CorruptDataException} because it did; a refusal changes nothing, so a
     * second plain open is refused again; then {@code openDespiteLostWalData(true)} opens it and its
     * report says what was lost.
     */
    static dev.strata.core.DurableStreamStore openAfterDamage(java.util.function.Supplier<Strata.Builder> builder,
            String context) {
        dev.strata.core.DurableStreamStore store;
        try {
            store = builder.get().build();
        } catch (dev.strata.api.CorruptDataException refused) {
            assertThat(refused).as("%s: refusal names the loss", context).hasMessageContaining("lost acknowledged data");
            try {
                builder.get().build().close();
                throw new AssertionError(context + ": a second open after a refusal for lost WAL data succeeded: "
                        + "the first one must have destroyed the evidence");
            } catch (dev.strata.api.CorruptDataException again) {
                assertThat(lostRegions(again.getMessage())).as("%s: the same loss is found again", context)
                        .isEqualTo(lostRegions(refused.getMessage())).isNotEmpty();
            }
            REFUSED_OPENS.incrementAndGet();
            store = builder.get().openDespiteLostWalData(true).build();
            assertThat(store.recoveryReport().wal().acknowledgedDataLost()).as("%s: %s", context,
                    store.recoveryReport().summary()).isTrue();
            return store;
        }
        assertThat(store.recoveryReport().wal().acknowledgedDataLost()).as("%s: opened by default although the WAL lost "
                + "acknowledged data: %s", context, store.recoveryReport().summary()).isFalse();
        return store;
    }

    /** The "[position, endPosition)" pairs of the lost WAL regions a refusal names. */
    private static java.util.List<String> lostRegions(String message) {
        java.util.List<String> out = new java.util.ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("LostRegion\\[position=(\\d+), endPosition=(\\d+)")
                .matcher(message);
        while (m.find()) {
            out.add(m.group(1) + ".." + m.group(2));
        }
        return out;
    }

    /** A genuine payload for {@code seed}: 8 bytes of seed, then 0..4000 bytes derived from it. */
    static byte[] payload(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] b = new byte[8 + r.nextInt(4000)];
        for (int i = 8; i < b.length; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        ByteBuffer.wrap(b).putLong(0, seed);
        return b;
    }

    /** The record count a batch with {@code seed} carries: 1..4. */
    static int count(long seed) {
        return 1 + (int) Math.floorMod(seed, 4L);
    }

    static RecordBatch batch(long seed) {
        return RecordBatch.of(count(seed), seed, ByteBuffer.wrap(payload(seed)));
    }

    /** True when {@code bytes} is exactly the payload of the seed it starts with. */
    static boolean isGenuine(byte[] bytes) {
        return bytes.length >= 8 && Arrays.equals(bytes, payload(ByteBuffer.wrap(bytes).getLong(0)));
    }

    static long seedOf(byte[] bytes) {
        return ByteBuffer.wrap(bytes).getLong(0);
    }

    static void report(String campaign, String totals) {
        System.out.println("RELIABILITY campaign=" + campaign + " " + totals + " long=" + LONG + " seed=" + BASE_SEED);
    }

    /** What reading a stream back found. */
    static final class ReadBack {
        /** base offset -> seed of every batch read */
        final TreeMap<Long, Long> batches = new TreeMap<>();
        long start;
        long end;
    }

    /**
     * Reads {@code s} from its start to its end and checks what any reader may rely on: offsets
     * contiguous from the start offset, no duplicates, every payload genuine and its count the one
     * its seed implies, and the acknowledged trim respected.
     */
    static ReadBack readAll(Stream s, AckLedger ledger, String context) {
        ReadBack out = new ReadBack();
        out.start = s.startOffset();
        out.end = s.nextOffset();
        long trim = ledger.trimmed(s.id());
        assertThat(out.start).as("%s: stream %d start offset respects the acknowledged trim", context, s.id())
                .isGreaterThanOrEqualTo(trim);
        long offset = out.start;
        Long expected = null;
        while (offset < out.end) {
            try (FetchResult r = await(s.fetch(offset, Long.MAX_VALUE, 128 * 1024))) {
                assertThat(r.batches()).as("%s: fetch at %d of stream %d (end %d)", context, offset, s.id(), out.end)
                        .isNotEmpty();
                for (FetchedBatch b : r.batches()) {
                    if (expected != null) {
                        assertThat(b.baseOffset()).as("%s: stream %d contiguous, exactly once", context, s.id())
                                .isEqualTo(expected);
                    } else {
                        assertThat(b.baseOffset()).isLessThanOrEqualTo(offset);
                        assertThat(b.nextOffset()).isGreaterThan(offset);
                    }
                    byte[] bytes = new byte[b.sizeBytes()];
                    b.payload().get(bytes);
                    assertThat(isGenuine(bytes)).as("%s: stream %d batch at %d has genuine bytes", context, s.id(),
                            b.baseOffset()).isTrue();
                    assertThat(b.count()).as("%s: count of stream %d batch at %d", context, s.id(), b.baseOffset())
                            .isEqualTo(count(seedOf(bytes)));
                    assertThat(b.baseTimestamp()).isEqualTo(seedOf(bytes));
                    out.batches.put(b.baseOffset(), seedOf(bytes));
                    expected = b.nextOffset();
                    offset = b.nextOffset();
                }
            }
        }
        return out;
    }

    /**
     * Checks that every acknowledged batch of {@code s} at or above its start offset was read back at
     * its offset with its bytes; returns how many were verified.
     */
    static long verifyAcknowledged(Stream s, AckLedger ledger, String context) {
        ReadBack back = readAll(s, ledger, context);
        long verified = 0;
        TreeMap<Long, Long> acked = ledger.of(s.id());
        synchronized (acked) {
            for (Map.Entry<Long, Long> a : acked.entrySet()) {
                if (a.getKey() + count(a.getValue()) <= back.start) {
                    continue;
                }
                assertThat(back.batches.get(a.getKey())).as("%s: acknowledged batch of stream %d at %d (seed %d)",
                        context, s.id(), a.getKey(), a.getValue()).isEqualTo(a.getValue());
                verified++;
            }
        }
        return verified;
    }

    static Map<Long, Long> copy(Map<Long, Long> m) {
        return new HashMap<>(m);
    }
}
