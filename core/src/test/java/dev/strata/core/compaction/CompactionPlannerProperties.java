package dev.strata.core.compaction;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.core.metadata.MetadataChange;
import dev.strata.core.metadata.MetadataState;
import dev.strata.core.metadata.ObjectMetadata;
import dev.strata.core.metadata.ObjectType;
import dev.strata.core.metadata.StreamMetadata;
import dev.strata.core.metadata.StreamRange;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The compaction planner against the metadata rules, over random histories of uploads (stream-set
 * and stream objects of random sizes), trims, deletes, clock steps and compactions: every task the
 * planner makes is accepted by {@link MetadataState} (it never plans a gap, an overlap or the loss
 * of a live offset), every live stream stays covered exactly once from its start offset to its
 * committed end, and once time passes compaction settles with few objects and bounded
 * amplification.
 */
class CompactionPlannerProperties {
    private static final long NODE = 1;
    private static final long TARGET = 64 << 10;
    private static final CompactionPlanner.Settings SETTINGS =
            new CompactionPlanner.Settings(TARGET, 16 << 10, 60_000, 0.2, 4 * TARGET, 8);

    @Property(tries = 200)
    void plannedTasksAreValidAndKeepEveryLiveOffset(@ForAll long seed, @ForAll @IntRange(min = 1, max = 8) int streams,
            @ForAll @IntRange(min = 10, max = 120) int steps) {
        SplittableRandom random = new SplittableRandom(seed);
        MetadataState state = new MetadataState();
        state.apply(new MetadataChange.RegisterNode(NODE));
        for (int i = 0; i < streams; i++) {
            state.apply(new MetadataChange.CreateStream(NODE, state.nextStreamId(), 0));
        }
        CompactionPlanner planner = new CompactionPlanner(SETTINGS);
        long[] now = {1_000_000};
        int[] keys = {0};
        for (int step = 0; step < steps; step++) {
            int action = random.nextInt(20);
            if (action < 11) {
                upload(state, random, now[0], keys);
            } else if (action < 14) {
                trim(state, random);
            } else if (action == 14 && state.streams().size() > 1 && random.nextInt(3) == 0) {
                StreamMetadata s = pick(state, random);
                state.apply(new MetadataChange.DeleteStream(NODE, s.streamId(), s.epoch()));
            } else if (action < 17) {
                now[0] += random.nextLong(120_000);
            } else {
                compact(state, planner, now[0], keys);
            }
            checkCoverage(state);
        }
        // Let compaction catch up: time passes and cycles run until nothing is left to do (every task
        // lowers the object count or removes dead bytes, so it settles).
        for (int cycle = 0; cycle < 20; cycle++) {
            now[0] += 10 * SETTINGS.splitAgeMillis();
            if (planner.plan(state.streams(), state.objects(), now[0], Set.of()).isEmpty()) {
                break;
            }
            compact(state, planner, now[0], keys);
            checkCoverage(state);
        }
        assertThat(planner.plan(state.streams(), state.objects(), now[0], Set.of())).as("settled").isEmpty();
        long live = 0;
        long stored = 0;
        for (ObjectMetadata o : state.objects()) {
            assertThat(o.type()).as("old data leaves stream-set objects").isEqualTo(ObjectType.STREAM);
            for (StreamRange r : o.ranges()) {
                stored += r.sizeBytes();
                live += CompactionPlanner.liveBytes(r, state.stream(r.streamId()).orElse(null));
            }
        }
        if (live > 0) {
            assertThat((double) stored / live).as("amplification").isLessThanOrEqualTo(1 / (1 - SETTINGS.maxDeadFraction()));
        }
        assertThat((long) state.objects().size()).isLessThanOrEqualTo(live / (TARGET / 2) + 8L * streams);
    }

    private static void upload(MetadataState state, SplittableRandom random, long now, int[] keys) {
        List<StreamRange> ranges = new ArrayList<>();
        for (StreamMetadata s : state.streams()) {
            if (random.nextInt(3) > 0) {
                long n = 1 + random.nextInt(50);
                long bytesPerOffset = 1 + random.nextInt(2000);
                ranges.add(new StreamRange(s.streamId(), s.committedEndOffset(), s.committedEndOffset() + n, n * bytesPerOffset));
            }
        }
        if (ranges.isEmpty()) {
            return;
        }
        List<ObjectMetadata> objects = new ArrayList<>();
        List<StreamRange> shared = new ArrayList<>();
        for (StreamRange r : ranges) {
            if (r.sizeBytes() >= 40_000) {
                objects.add(new ObjectMetadata("up-" + keys[0]++, r.sizeBytes() + 100, ObjectType.STREAM, List.of(r), now));
            } else {
                shared.add(r);
            }
        }
        if (!shared.isEmpty()) {
            long size = shared.stream().mapToLong(StreamRange::sizeBytes).sum() + 100;
            objects.add(new ObjectMetadata("up-" + keys[0]++, size, ObjectType.STREAM_SET, shared, now));
        }
        state.apply(new MetadataChange.CommitObjects(NODE, objects, 0));
    }

    private static void trim(MetadataState state, SplittableRandom random) {
        StreamMetadata s = pick(state, random);
        if (s.committedEndOffset() > s.startOffset()) {
            long to = s.startOffset() + random.nextLong(s.committedEndOffset() - s.startOffset() + 1);
            state.apply(new MetadataChange.TrimStream(NODE, s.streamId(), s.epoch(), to));
        }
    }

    private static StreamMetadata pick(MetadataState state, SplittableRandom random) {
        List<StreamMetadata> live = new ArrayList<>(state.streams());
        return live.get(random.nextInt(live.size()));
    }

    /** Applies every planned task, with outputs holding exactly what the plan says (sizes pro rata). */
    private static void compact(MetadataState state, CompactionPlanner planner, long now, int[] keys) {
        for (CompactionPlanner.Task task : planner.plan(state.streams(), state.objects(), now, Set.of())) {
            List<ObjectMetadata> outputs = new ArrayList<>();
            for (CompactionPlanner.PlannedObject planned : task.outputs()) {
                List<StreamRange> ranges = new ArrayList<>();
                long size = 100;
                for (CompactionPlanner.Piece piece : planned.pieces()) {
                    long bytes = 0;
                    for (ObjectMetadata source : piece.sources()) {
                        StreamRange r = source.range(piece.streamId());
                        long from = Math.max(r.startOffset(), piece.startOffset());
                        long to = Math.min(r.endOffset(), piece.endOffset());
                        if (to > from) {
                            bytes += (long) Math.ceil((double) r.sizeBytes() * (to - from) / r.offsetCount());
                        }
                    }
                    ranges.add(new StreamRange(piece.streamId(), piece.startOffset(), piece.endOffset(), bytes));
                    size += bytes;
                }
                outputs.add(new ObjectMetadata("c-" + keys[0]++, size, planned.type(), ranges, planned.dataTimeMillis()));
            }
            List<String> removed = task.inputs().stream().map(ObjectMetadata::key).toList();
            state.apply(new MetadataChange.ReplaceObjects(NODE, removed, outputs)); // throws if the plan breaks a rule
        }
    }

    /** Every live stream is covered exactly once from its start offset to its committed end. */
    private static void checkCoverage(MetadataState state) {
        for (StreamMetadata s : state.streams()) {
            long cursor = s.startOffset();
            for (Map.Entry<StreamRange, ObjectMetadata> e : state.objectsCovering(s.streamId(), s.startOffset(),
                    s.committedEndOffset())) {
                StreamRange r = e.getKey();
                assertThat(r.startOffset()).as("stream %d: no gap or overlap at %d", s.streamId(), cursor)
                        .isLessThanOrEqualTo(cursor);
                assertThat(r.endOffset()).isGreaterThan(cursor);
                if (cursor > s.startOffset()) {
                    assertThat(r.startOffset()).as("stream %d contiguous", s.streamId()).isEqualTo(cursor);
                }
                cursor = r.endOffset();
            }
            assertThat(cursor).as("stream %d covered up to its committed end", s.streamId())
                    .isEqualTo(Math.max(s.startOffset(), s.committedEndOffset()));
        }
    }
}
