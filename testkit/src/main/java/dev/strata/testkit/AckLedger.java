package dev.strata.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What a store acknowledged, as a crash or fault test learnt it: per stream, the base offset of every
 * acknowledged batch with the seed its payload was generated from, and the highest acknowledged trim.
 * After a crash the test checks the reopened store against it: every acknowledged batch at or above
 * the start offset is readable at its offset with the payload of its seed, and the start offset is at
 * least the acknowledged trim. The seed names the payload (and, in the usual schemes, the record
 * count); the payload scheme itself belongs to the test.
 *
 * <p>Thread-safe: acknowledgements may be recorded from completion callbacks. {@link #of} returns the
 * stream's live map; iterate it while holding its monitor ({@code synchronized (ledger.of(id))}).
 */
public final class AckLedger {
    private final Map<Long, TreeMap<Long, Long>> acked = new ConcurrentHashMap<>();
    private final Map<Long, Long> trims = new ConcurrentHashMap<>();

    /**
     * Records that {@code stream} acknowledged the batch with {@code seed} at {@code base}.
     *
     * @throws AssertionError if that offset was already acknowledged (and not {@linkplain #forget forgotten})
     */
    public void ack(long stream, long base, long seed) {
        TreeMap<Long, Long> m = of(stream);
        synchronized (m) {
            Long previous = m.put(base, seed);
            assertThat(previous).as("offset %d of stream %d acknowledged twice", base, stream).isNull();
        }
    }

    /** Records an acknowledged trim of {@code stream} to {@code offset}; the highest one counts. */
    public void trim(long stream, long offset) {
        trims.merge(stream, offset, Math::max);
    }

    /** The highest acknowledged trim of {@code stream}; 0 if none. */
    public long trimmed(long stream) {
        return trims.getOrDefault(stream, 0L);
    }

    /**
     * Forgets the acknowledgement at {@code base}: for a test that damaged storage on purpose and so
     * accepts the loss, after which the store may assign the offset again.
     */
    public void forget(long stream, long base) {
        TreeMap<Long, Long> m = of(stream);
        synchronized (m) {
            m.remove(base);
        }
    }

    /** How many batches were acknowledged (and not forgotten), over all streams. */
    public int acknowledged() {
        int n = 0;
        for (TreeMap<Long, Long> m : acked.values()) {
            synchronized (m) {
                n += m.size();
            }
        }
        return n;
    }

    /** The streams with at least one recorded acknowledgement or trim. */
    public Set<Long> streams() {
        Set<Long> out = new java.util.TreeSet<>(acked.keySet());
        out.addAll(trims.keySet());
        return out;
    }

    /** The live map base offset -> seed of {@code stream}; synchronize on it to iterate. */
    public TreeMap<Long, Long> of(long stream) {
        return acked.computeIfAbsent(stream, k -> new TreeMap<>());
    }
}
