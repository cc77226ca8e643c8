package dev.strata.core.reliability;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.CompactionReport;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.StoreFixtures;
import dev.strata.core.Strata;
import dev.strata.objectstore.ByteRange;
import dev.strata.objectstore.ForwardingObjectStorage;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectData;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.ObjectKeys;
import dev.strata.objectstore.ObjectStorage;
import dev.strata.objectstore.testing.LogCapture;
import dev.strata.testkit.AckLedger;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18 item 13: a trim that lands while a compaction task runs (after it planned and started
 * reading its inputs, before it commits). The task must commit correctly or give up cleanly: no
 * failed task, no warning, nothing lost, and the dead data goes in a later cycle. Deterministic: the
 * task is held at its first read of an input (a GET) while the stream is trimmed.
 */
class CompactionTrimRaceTest {
    private static final Duration GRACE = Duration.ofMinutes(1);

    @TempDir
    Path tmp;

    private final ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));

    private Strata.Builder builder(Path dir, ObjectStorage bucket) {
        return StoreFixtures.campaign(dir)
                .objectStorage(bucket)
                .uploadInterval(Duration.ofHours(1))
                .compactionInterval(Duration.ZERO)
                .clock(clock)
                .compactionTargetObjectBytes(64 << 10)
                .streamObjectThresholdBytes(32 << 10)
                .streamSetSplitAge(Duration.ofMinutes(30))
                .garbageGracePeriod(GRACE)
                .orphanTtl(Duration.ofMinutes(10))
                .compactionBytesPerSecond(0);
    }

    @Test
    void aTrimPastEverythingATaskCompactsWhileItRunsNeitherFailsTheTaskNorLosesData() throws Exception {
        trimDuringTask(true);
    }

    @Test
    void aTrimIntoTheMiddleOfWhatATaskCompactsKeepsEveryLiveOffset() throws Exception {
        trimDuringTask(false);
    }

    /**
     * Two streams in two stream-set objects (one merge task); the compaction's first GET is held;
     * stream 1 is trimmed past all (or half) of what the task holds; then the GET is released.
     */
    private void trimDuringTask(boolean pastEverything) throws Exception {
        Path dir = tmp.resolve("race");
        AckLedger ledger = new AckLedger();
        try (LocalObjectStorage local = LocalObjectStorage.open(dir.resolve("bucket"));
                LogCapture logs = LogCapture.capture()) {
            HoldingStorage bucket = new HoldingStorage(local);
            try (DurableStreamStore store = builder(dir, bucket).build()) {
                Stream trimmed = await(store.createStream(StreamOptions.defaults()));
                Stream kept = await(store.createStream(StreamOptions.defaults()));
                for (int round = 0; round < 2; round++) {
                    for (int b = 0; b < 5; b++) {
                        for (Stream s : List.of(trimmed, kept)) {
                            long seed = 1_000_000L + round * 1000 + b * 10 + s.id();
                            ledger.ack(s.id(), await(s.append(Campaigns.batch(seed))).baseOffset(), seed);
                        }
                    }
                    await(store.flush()); // a stream-set object holding both streams
                }
                long objectsBefore = store.storageSummary().objects();
                assertThat(objectsBefore).isEqualTo(2);

                bucket.holdNextGet();
                CompletableFuture<CompactionReport> compaction = store.compact();
                await(bucket.held); // the task planned and is reading its first input
                List<Long> bases = new ArrayList<>(ledger.of(trimmed.id()).keySet());
                long target = pastEverything ? trimmed.nextOffset() : bases.get(bases.size() / 2);
                await(trimmed.trim(target));
                ledger.trim(trimmed.id(), target);
                bucket.release();

                CompactionReport report = await(compaction);
                assertThat(report.tasksFailed()).as("tasks failed: %s", report).isZero();
                assertThat(logs.lines()).as("warnings and errors").noneMatch(l -> l.startsWith("WARN") || l.startsWith("ERROR"));
                Campaigns.verifyAcknowledged(trimmed, ledger, "trimmed stream after the raced compaction");
                Campaigns.verifyAcknowledged(kept, ledger, "kept stream after the raced compaction");

                // Later cycles finish the job: replaced and dead objects go after the grace period.
                for (int i = 0; i < 4; i++) {
                    clock.advance(GRACE.plus(Duration.ofMinutes(30)));
                    CompactionReport later = await(store.compact());
                    assertThat(later.tasksFailed()).as("later cycle %d: %s", i, later).isZero();
                }
                Campaigns.verifyAcknowledged(trimmed, ledger, "trimmed stream after later cycles");
                Campaigns.verifyAcknowledged(kept, ledger, "kept stream after later cycles");
                assertThat(dataObjects(local)).hasSize((int) store.storageSummary().objects());
                assertThat(store.storageSummary().garbageObjects()).isZero();
                assertThat(store.storageSummary().compactionBacklogObjects()).isZero();
            }
        }
    }

    private static List<String> dataObjects(ObjectStorage bucket) {
        List<String> out = new ArrayList<>();
        for (ObjectInfo info : await(bucket.list(""))) {
            if (ObjectKeys.parseObjectId(info.key()) >= 0) {
                out.add(info.key());
            }
        }
        return out;
    }

    /** Holds the next GET until {@link #release()}; everything else passes through. */
    private static final class HoldingStorage extends ForwardingObjectStorage {
        final CompletableFuture<Void> held = new CompletableFuture<>();
        private final CompletableFuture<Void> gate = new CompletableFuture<>();
        private volatile boolean holdNext;

        HoldingStorage(ObjectStorage delegate) {
            super(delegate);
        }

        void holdNextGet() {
            holdNext = true;
        }

        void release() {
            gate.complete(null);
        }

        @Override
        public synchronized CompletableFuture<ObjectData> get(String key, ByteRange range) {
            if (!holdNext) {
                return delegate.get(key, range);
            }
            holdNext = false;
            held.complete(null);
            return gate.thenCompose(v -> delegate.get(key, range));
        }
    }
}
