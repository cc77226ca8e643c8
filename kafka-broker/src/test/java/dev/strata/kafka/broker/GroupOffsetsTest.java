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
    void withoutCompactionARestartReplaysEveryCommit() {
        assertThat(restartKeepsTheLastCommits(1_000_000)).isEqualTo(2L * PARTITIONS * ROUNDS);
    }
}
