package dev.strata.core.compaction;

import dev.strata.core.metadata.ObjectMetadata;
import dev.strata.core.metadata.ObjectType;
import dev.strata.core.metadata.StreamMetadata;
import dev.strata.core.metadata.StreamRange;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Decides what one compaction cycle does, from the metadata alone (a pure function: no I/O, no
 * clock of its own; {@code CompactionPlannerProperties} checks it directly).
 *
 * <h2>Rules</h2>
 * <ol>
 *   <li><b>Dead objects</b>: an object holding no live offset (every range below its stream's start
 *       offset, or of a deleted stream) is dropped: one task, no output.</li>
 *   <li><b>Stream-set compaction</b>: the stream-set objects (oldest data first, up to
 *       {@code maxInputBytes}) are split: each stream's contiguous run of offsets in them becomes a
 *       stream object once it is large ({@code >= splitBytes} live bytes) or old (its oldest data is
 *       {@code splitAgeMillis} old); the small, young remainders are re-packed into as few
 *       stream-set objects as {@code targetObjectBytes} allows. It runs when there are at least two
 *       stream-set objects, something to split, or more than {@code maxDeadFraction} dead bytes.</li>
 *   <li><b>Stream-object merge</b>: per stream, adjacent small stream objects (each under half of
 *       {@code targetObjectBytes}) are merged, up to {@code targetObjectBytes}, once the group holds
 *       at least half the target or {@code maxSmallObjects} objects; an object at least half the
 *       target is never merged again, so merging rewrites a byte about once. A stream object with
 *       more than {@code maxDeadFraction} of its bytes below the start offset is rewritten alone.</li>
 * </ol>
 * Data below a stream's start offset is dropped from every output (down to batch granularity: a
 * batch that straddles the start offset is kept whole). Live bytes are estimated per range by the
 * share of its offsets at or above the start offset.
 *
 * <p>Bound: once compaction has caught up, every object has at most {@code maxDeadFraction} dead
 * bytes, so stored/live is at most {@code 1 / (1 - maxDeadFraction)} plus index overhead.
 */
public final class CompactionPlanner {

    /** The planner's knobs; see the class comment. */
    public record Settings(long targetObjectBytes, long splitBytes, long splitAgeMillis, double maxDeadFraction,
            long maxInputBytes, int maxSmallObjects) {
        public Settings {
            if (targetObjectBytes <= 0 || splitBytes <= 0 || splitAgeMillis < 0 || maxInputBytes <= 0
                    || maxSmallObjects < 2 || !(maxDeadFraction > 0 && maxDeadFraction < 1)) {
                throw new IllegalArgumentException("invalid compaction settings: target=" + targetObjectBytes
                        + " split=" + splitBytes + " splitAge=" + splitAgeMillis + " maxDead=" + maxDeadFraction
                        + " maxInput=" + maxInputBytes + " maxSmallObjects=" + maxSmallObjects);
            }
        }
    }

    /** One stream's offsets {@code [startOffset, endOffset)} to copy, read from {@code sources} in order. */
    record Piece(long streamId, long startOffset, long endOffset, List<ObjectMetadata> sources) {
        Piece {
            sources = List.copyOf(sources);
        }
    }

    /** One object to write: its type, the pieces it holds (by stream id) and the age of its data. */
    record PlannedObject(ObjectType type, List<Piece> pieces, long dataTimeMillis) {
        PlannedObject {
            pieces = List.copyOf(pieces);
        }
    }

    /** Replace {@code inputs} by {@code outputs} (none: just drop the inputs). */
    record Task(String kind, List<ObjectMetadata> inputs, List<PlannedObject> outputs) {
        Task {
            inputs = List.copyOf(inputs);
            outputs = List.copyOf(outputs);
        }

        long inputBytes() {
            long n = 0;
            for (ObjectMetadata o : inputs) {
                n += o.sizeBytes();
            }
            return n;
        }
    }

    /** A range of an object, in a stream's offset order. */
    private record Held(StreamRange range, ObjectMetadata object) {
    }

    private final Settings settings;

    CompactionPlanner(Settings settings) {
        this.settings = settings;
    }

    /**
     * The tasks of one cycle, in the order to run them. No object is the input of two tasks.
     * {@code excluded} objects (e.g. found corrupt) are left alone.
     */
    List<Task> plan(Collection<StreamMetadata> liveStreams, Collection<ObjectMetadata> objects, long nowMillis,
            Set<String> excluded) {
        Map<Long, StreamMetadata> streams = new TreeMap<>();
        for (StreamMetadata s : liveStreams) {
            streams.put(s.streamId(), s);
        }
        List<Task> tasks = new ArrayList<>();
        Set<String> used = new HashSet<>(excluded);

        List<ObjectMetadata> dead = new ArrayList<>();
        for (ObjectMetadata o : objects) {
            if (!used.contains(o.key()) && liveBytes(o, streams) == 0) {
                dead.add(o);
                used.add(o.key());
            }
        }
        if (!dead.isEmpty()) {
            tasks.add(new Task("drop-dead", dead, List.of()));
        }

        Task split = planStreamSets(streams, objects, nowMillis, used);
        if (split != null) {
            tasks.add(split);
            for (ObjectMetadata o : split.inputs()) {
                used.add(o.key());
            }
        }

        Map<Long, List<Held>> byStream = heldByStream(objects);
        for (StreamMetadata s : streams.values()) {
            planMerges(s, byStream.getOrDefault(s.streamId(), List.of()), used, tasks);
        }
        return tasks;
    }

    private Task planStreamSets(Map<Long, StreamMetadata> streams, Collection<ObjectMetadata> objects, long nowMillis,
            Set<String> used) {
        List<ObjectMetadata> candidates = new ArrayList<>();
        for (ObjectMetadata o : objects) {
            if (o.type() == ObjectType.STREAM_SET && !used.contains(o.key())) {
                candidates.add(o);
            }
        }
        candidates.sort(Comparator.comparingLong(ObjectMetadata::dataTimeMillis).thenComparing(ObjectMetadata::key));
        List<ObjectMetadata> inputs = new ArrayList<>();
        long inputBytes = 0;
        for (ObjectMetadata o : candidates) {
            if (!inputs.isEmpty() && inputBytes + o.sizeBytes() > settings.maxInputBytes()) {
                break;
            }
            inputs.add(o);
            inputBytes += o.sizeBytes();
        }
        if (inputs.isEmpty()) {
            return null;
        }
        List<PlannedObject> outputs = new ArrayList<>();
        List<Piece> remainder = new ArrayList<>();
        List<Long> remainderBytes = new ArrayList<>();
        long remainderTime = Long.MAX_VALUE;
        boolean splitSomething = false;
        long rangeBytes = 0;
        long live = 0;
        Map<Long, List<Held>> inputsByStream = heldByStream(inputs);
        for (StreamMetadata s : streams.values()) {
            List<Held> held = inputsByStream.getOrDefault(s.streamId(), List.of());
            boolean firstRemainder = true;
            for (List<Held> run : runs(held)) {
                long runStart = run.get(0).range().startOffset();
                long runEnd = run.get(run.size() - 1).range().endOffset();
                long runLive = 0;
                long runTime = Long.MAX_VALUE;
                List<ObjectMetadata> sources = new ArrayList<>();
                for (Held h : run) {
                    runLive += liveBytes(h.range(), s);
                    runTime = Math.min(runTime, h.object().dataTimeMillis());
                    sources.add(h.object());
                }
                live += runLive;
                if (runEnd <= s.startOffset()) {
                    continue; // all trimmed: dropped
                }
                Piece piece = new Piece(s.streamId(), Math.max(runStart, s.startOffset()), runEnd, sources);
                boolean large = runLive >= settings.splitBytes();
                boolean old = nowMillis - runTime >= settings.splitAgeMillis();
                if (large || old || !firstRemainder) {
                    outputs.add(new PlannedObject(ObjectType.STREAM, List.of(piece), runTime));
                    splitSomething = true;
                } else {
                    remainder.add(piece);
                    remainderBytes.add(runLive);
                    remainderTime = Math.min(remainderTime, runTime);
                    firstRemainder = false;
                }
            }
        }
        for (ObjectMetadata o : inputs) {
            for (StreamRange r : o.ranges()) {
                rangeBytes += r.sizeBytes();
            }
        }
        boolean deadHeavy = rangeBytes > 0 && 1.0 - (double) live / rangeBytes > settings.maxDeadFraction();
        if (inputs.size() < 2 && !splitSomething && !deadHeavy) {
            return null;
        }
        List<Piece> pack = new ArrayList<>();
        long packBytes = 0;
        for (int i = 0; i < remainder.size(); i++) {
            if (!pack.isEmpty() && packBytes + remainderBytes.get(i) > settings.targetObjectBytes()) {
                outputs.add(new PlannedObject(ObjectType.STREAM_SET, pack, remainderTime));
                pack = new ArrayList<>();
                packBytes = 0;
            }
            pack.add(remainder.get(i));
            packBytes += remainderBytes.get(i);
        }
        if (!pack.isEmpty()) {
            outputs.add(new PlannedObject(ObjectType.STREAM_SET, pack, remainderTime));
        }
        return new Task("split-stream-sets", inputs, outputs);
    }

    private void planMerges(StreamMetadata s, List<Held> held, Set<String> used, List<Task> tasks) {
        long half = settings.targetObjectBytes() / 2;
        List<Held> group = new ArrayList<>();
        long groupLive = 0;
        for (Held h : held) {
            if (h.object().type() != ObjectType.STREAM || used.contains(h.object().key())) {
                flushGroup(s, group, groupLive, used, tasks);
                group = new ArrayList<>();
                groupLive = 0;
                continue;
            }
            long live = liveBytes(h.range(), s);
            if (live >= half) {
                flushGroup(s, group, groupLive, used, tasks);
                group = new ArrayList<>();
                groupLive = 0;
                if (deadFraction(h.range(), s) > settings.maxDeadFraction()) {
                    tasks.add(mergeTask(s, List.of(h), used));
                }
                continue;
            }
            boolean adjacent = group.isEmpty()
                    || group.get(group.size() - 1).range().endOffset() == h.range().startOffset();
            if (!adjacent || groupLive + live > settings.targetObjectBytes()) {
                flushGroup(s, group, groupLive, used, tasks);
                group = new ArrayList<>();
                groupLive = 0;
            }
            group.add(h);
            groupLive += live;
        }
        flushGroup(s, group, groupLive, used, tasks);
    }

    private void flushGroup(StreamMetadata s, List<Held> group, long groupLive, Set<String> used, List<Task> tasks) {
        if (group.size() >= 2 && (groupLive >= settings.targetObjectBytes() / 2 || group.size() >= settings.maxSmallObjects())) {
            tasks.add(mergeTask(s, group, used));
            return;
        }
        // Not merged (yet): an object with too many dead bytes (a stream's head, partly trimmed) is
        // rewritten alone, or the amplification bound would not hold.
        for (Held h : group) {
            if (deadFraction(h.range(), s) > settings.maxDeadFraction()) {
                tasks.add(mergeTask(s, List.of(h), used));
            }
        }
    }

    private static Task mergeTask(StreamMetadata s, List<Held> group, Set<String> used) {
        List<ObjectMetadata> inputs = new ArrayList<>();
        long time = Long.MAX_VALUE;
        for (Held h : group) {
            inputs.add(h.object());
            used.add(h.object().key());
            time = Math.min(time, h.object().dataTimeMillis());
        }
        long start = Math.max(group.get(0).range().startOffset(), s.startOffset());
        long end = group.get(group.size() - 1).range().endOffset();
        Piece piece = new Piece(s.streamId(), start, end, inputs);
        return new Task("merge-stream-objects", inputs, List.of(new PlannedObject(ObjectType.STREAM, List.of(piece), time)));
    }

    /** Per stream, the ranges {@code objects} hold, in offset order (one pass over the objects). */
    private static Map<Long, List<Held>> heldByStream(Collection<ObjectMetadata> objects) {
        Map<Long, List<Held>> out = new java.util.HashMap<>();
        for (ObjectMetadata o : objects) {
            for (StreamRange r : o.ranges()) {
                out.computeIfAbsent(r.streamId(), id -> new ArrayList<>()).add(new Held(r, o));
            }
        }
        for (List<Held> held : out.values()) {
            held.sort(Comparator.comparingLong(h -> h.range().startOffset()));
        }
        return out;
    }

    /** Splits ranges into runs where each range starts where the previous ended. */
    private static List<List<Held>> runs(List<Held> held) {
        List<List<Held>> runs = new ArrayList<>();
        List<Held> run = new ArrayList<>();
        for (Held h : held) {
            if (!run.isEmpty() && run.get(run.size() - 1).range().endOffset() != h.range().startOffset()) {
                runs.add(run);
                run = new ArrayList<>();
            }
            run.add(h);
        }
        if (!run.isEmpty()) {
            runs.add(run);
        }
        return runs;
    }

    /** Estimated bytes of {@code r} at or above the stream's start offset (0 for a deleted stream). */
    static long liveBytes(StreamRange r, StreamMetadata s) {
        if (s == null || r.endOffset() <= s.startOffset()) {
            return 0;
        }
        if (r.startOffset() >= s.startOffset()) {
            return r.sizeBytes();
        }
        double share = (double) (r.endOffset() - s.startOffset()) / r.offsetCount();
        return (long) Math.ceil(r.sizeBytes() * share);
    }

    /** Estimated live bytes of {@code o}: 0 means it holds no live offset. */
    static long liveBytes(ObjectMetadata o, Map<Long, StreamMetadata> streams) {
        long live = 0;
        boolean anyLive = false;
        for (StreamRange r : o.ranges()) {
            StreamMetadata s = streams.get(r.streamId());
            if (s != null && r.endOffset() > s.startOffset()) {
                anyLive = true;
                live += liveBytes(r, s);
            }
        }
        return anyLive ? Math.max(1, live) : 0;
    }

    private static double deadFraction(StreamRange r, StreamMetadata s) {
        return r.sizeBytes() == 0 ? 0 : 1.0 - (double) liveBytes(r, s) / r.sizeBytes();
    }
}
