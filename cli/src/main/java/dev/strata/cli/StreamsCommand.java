package dev.strata.cli;

import dev.strata.api.StreamFilter;
import dev.strata.core.metadata.ObjectMetadata;
import dev.strata.core.metadata.StreamMetadata;
import dev.strata.core.metadata.StreamRange;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * {@code strata streams [--tenant T] [--tag K=V]...}: id, epoch, start and committed end offsets,
 * state, bytes, tenant and tags of every stream, or of those of a tenant / carrying tags.
 */
@Command(name = "streams", mixinStandardHelpOptions = true,
        description = "Every stream (or a tenant's, or those with tags): id, epoch, start/committed end offsets, state, bytes, tenant, tags.")
final class StreamsCommand extends BaseCommand {

    @Mixin
    StoreOptions storeOptions;

    @Option(names = "--tenant", description = "Only the streams of this tenant.")
    String tenant;

    @Option(names = "--tag", description = "Only streams carrying this tag with this value (KEY=VALUE); repeatable.")
    Map<String, String> tags = new LinkedHashMap<>();

    /**
     * Each stream's end as a replay of the WAL would leave it (docs/design.md, Recovery): from its
     * committed end, the WAL's records of the stream that start exactly where the previous one ended,
     * in WAL order, leaving out those of a fenced older epoch; null without a WAL to read. Read-only.
     */
    private Map<Long, Long> walEnds(StoreAccess store, Map<Long, StreamMetadata> byId) {
        if (store.walPath() == null || !java.nio.file.Files.exists(store.walPath())) {
            return null;
        }
        Map<Long, Long> ends = new HashMap<>();
        byId.values().forEach(s -> ends.put(s.streamId(), s.committedEndOffset()));
        try {
            WalScan.scan(store.walPath(), e -> {
                StreamMetadata s = e.streamId() == null ? null : byId.get(e.streamId());
                if (s == null) {
                    return; // a deleted stream's, or a body that did not decode (a problem WalScan added)
                }
                boolean fenced = e.epoch() < s.epoch() && e.baseOffset() >= s.epochStartOffset();
                if (!fenced && e.baseOffset() == (long) ends.get(s.streamId())) {
                    ends.put(s.streamId(), e.baseOffset() + e.count());
                }
            }, problems);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("reading the WAL " + store.walPath() + ": " + e.getMessage(), e);
        }
        return ends;
    }

    @Override
    public Integer call() {
        StreamFilter filter;
        try {
            filter = new StreamFilter(Optional.ofNullable(tenant), tags);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        try (StoreAccess store = storeOptions.open()) {
            List<StreamMetadata> streams = store.manifest().streams().stream().filter(s -> filter.matches(s.labels())).toList();
            Map<Long, double[]> bytes = new HashMap<>(); // live bytes, objects
            Map<Long, StreamMetadata> byId = new HashMap<>();
            streams.forEach(s -> byId.put(s.streamId(), s));
            for (ObjectMetadata o : store.manifest().objects()) {
                for (StreamRange r : o.ranges()) {
                    StreamMetadata s = byId.get(r.streamId());
                    if (s != null && r.endOffset() > s.startOffset()) {
                        double[] b = bytes.computeIfAbsent(r.streamId(), k -> new double[2]);
                        b[0] += InfoCommand.liveBytes(r, s);
                        b[1]++;
                    }
                }
            }
            Map<Long, Long> ends = walEnds(store, byId);
            text(String.format("%-12s %8s %14s %14s %14s %14s %-8s %14s %8s %-16s %s", "id", "epoch", "start", "committedEnd",
                    "end", "epochStart", "state", "bytes", "objects", "tenant", "tags"));
            List<Object> list = new ArrayList<>();
            for (StreamMetadata s : streams) {
                double[] b = bytes.getOrDefault(s.streamId(), new double[2]);
                Long end = ends == null ? null : ends.getOrDefault(s.streamId(), s.committedEndOffset());
                String state = s.startOffset() == (end == null ? s.committedEndOffset() : end) ? "empty" : "data";
                text(String.format("%-12d %8d %14d %14d %14s %14d %-8s %14d %8d %-16s %s", s.streamId(), s.epoch(), s.startOffset(),
                        s.committedEndOffset(), end == null ? "?" : end, s.epochStartOffset(), state, Math.round(b[0]), (long) b[1],
                        s.labels().tenant().orElse("-"), s.labels().tags().isEmpty() ? "-" : s.labels().tags()));
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("id", s.streamId());
                m.put("epoch", s.epoch());
                m.put("startOffset", s.startOffset());
                m.put("committedEndOffset", s.committedEndOffset());
                m.put("endOffset", end);
                m.put("epochStartOffset", s.epochStartOffset());
                m.put("state", state);
                m.put("bytes", Math.round(b[0]));
                m.put("objects", (long) b[1]);
                m.put("tenant", s.labels().tenant().orElse(null));
                m.put("tags", new LinkedHashMap<String, Object>(s.labels().tags()));
                list.add(m);
            }
            text(streams.size() + " streams" + (ends == null ? " (end ?: no WAL given, see --wal-path; bytes count objects only)"
                    : " (end: committed, then the records in the WAL a replay would accept; bytes count objects only)"));
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("streams", list);
            return finish(doc);
        }
    }
}
