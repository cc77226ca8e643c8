package dev.strata.kafka.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.core.DurableStreamStore;
import dev.strata.core.Strata;
import dev.strata.kafka.broker.GroupOffsets.Committed;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Committed offsets in their Strata stream: replay after a restart, and compaction bounding the replay. */
class GroupOffsetsTest {
    private static final int PARTITIONS = 50;
    private static final int ROUNDS = 20;

    @TempDir
    Path dir;

    private DurableStreamStore store() {
        return Strata.builder().dataDir(dir).walCapacity(32L << 20).logCacheBytes(16L << 20)
                .blockCacheBytes(4L << 20).maxInFlightReadBytes(4L << 20).build();
    }

    /** Commits every partition of two groups {@link #ROUNDS} times, one commit per partition; returns the last values. */
    private static Map<String, Map<TopicPartition, Committed>> commitRounds(GroupOffsets offsets) {
        Map<String, Map<TopicPartition, Committed>> last = new HashMap<>();
        for (int round = 0; round < ROUNDS; round++) {
            for (String group : new String[] {"g1", "g2"}) {
                for (int p = 0; p < PARTITIONS; p++) {
                    TopicPartition tp = new TopicPartition(p % 2 == 0 ? "even" : "odd", p);
                    Committed c = new Committed(round * 100L + p, round, round % 3 == 0 ? null : "m" + round, 1000L + round);
                    offsets.commit(group, Map.of(tp, c)).join();
                    last.computeIfAbsent(group, g -> new HashMap<>()).put(tp, c);
                }
            }
        }
        return last;
    }

    /** Commits, restarts, checks the offsets came back; returns how many entries the restart replayed. */
    private long restartKeepsTheLastCommits(int compactMinEntries) {
        Map<String, Map<TopicPartition, Committed>> last;
        long streamId;
        try (DurableStreamStore store = store(); TopicCatalog catalog = TopicCatalog.open(store).join();
             GroupOffsets offsets = GroupOffsets.open(store, catalog, compactMinEntries).join()) {
            streamId = offsets.streamId();
            last = commitRounds(offsets);
            offsets.lastCompaction().join();
            assertThat(offsets.committed("g1")).isEqualTo(last.get("g1"));
        }
        try (DurableStreamStore store = store(); TopicCatalog catalog = TopicCatalog.open(store).join();
             GroupOffsets offsets = GroupOffsets.open(store, catalog, compactMinEntries).join()) {
            assertThat(offsets.streamId()).isEqualTo(streamId);
            assertThat(offsets.groups()).containsExactlyInAnyOrder("g1", "g2");
            assertThat(offsets.committed("g1")).isEqualTo(last.get("g1"));
            assertThat(offsets.committed("g2")).isEqualTo(last.get("g2"));
            assertThat(offsets.committed("g3")).isEmpty();
            return offsets.entriesInLog();
        }
    }

    @Test
    void compactionBoundsWhatARestartReplays() {
        // 2000 commits of 100 live offsets: compaction at max(150, 200) entries keeps a replay under 200 + 100
        assertThat(restartKeepsTheLastCommits(150)).isLessThanOrEqualTo(300);
    }

    @Test
    void commitsRacingCompactionsAreKeptAfterARestart() throws Exception {
        int threads = 4;
        Map<TopicPartition, Committed> last = new java.util.concurrent.ConcurrentHashMap<>();
        try (DurableStreamStore store = store(); TopicCatalog catalog = TopicCatalog.open(store).join();
             GroupOffsets offsets = GroupOffsets.open(store, catalog, 20).join()) {
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
            try {
                java.util.List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int thread = t;
                    done.add(pool.submit(() -> {
                        // each thread owns 5 partitions and pipelines 200 commits (up to 10 in flight)
                        java.util.Deque<java.util.concurrent.CompletableFuture<Void>> inFlight = new java.util.ArrayDeque<>();
                        for (int i = 0; i < 200; i++) {
                            TopicPartition tp = new TopicPartition("t", thread * 5 + i % 5);
                            Committed c = new Committed(i, 0, "x", i);
                            inFlight.add(offsets.commit("g", Map.of(tp, c)));
                            last.put(tp, c);
                            if (inFlight.size() > 10) {
                                inFlight.poll().join();
                            }
                        }
                        inFlight.forEach(java.util.concurrent.CompletableFuture::join);
                        return null;
                    }));
                }
                for (java.util.concurrent.Future<?> f : done) {
                    f.get();
                }
            } finally {
                pool.shutdown();
            }
            offsets.lastCompaction().join();
            assertThat(offsets.committed("g")).isEqualTo(last);
        }
        try (DurableStreamStore store = store(); TopicCatalog catalog = TopicCatalog.open(store).join();
             GroupOffsets offsets = GroupOffsets.open(store, catalog, 20).join()) {
            assertThat(offsets.committed("g")).isEqualTo(last);
            assertThat(offsets.entriesInLog()).isLessThan(threads * 200L);
        }
    }

    @Test
    void withoutCompactionARestartReplaysEveryCommit() {
        assertThat(restartKeepsTheLastCommits(1_000_000)).isEqualTo(2L * PARTITIONS * ROUNDS);
    }
}
