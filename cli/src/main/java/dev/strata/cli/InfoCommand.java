package dev.strata.cli;

import dev.strata.core.metadata.ManifestMetadataStore;
import dev.strata.core.metadata.ManifestSummary;
import dev.strata.core.metadata.ObjectMetadata;
import dev.strata.core.metadata.ObjectType;
import dev.strata.core.metadata.StreamMetadata;
import dev.strata.core.metadata.StreamRange;
import dev.strata.objectstore.ObjectInfo;
import dev.strata.objectstore.format.ObjectFooterDescriptor;
import dev.strata.wal.WalInspector;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code strata info}: formats and versions in use, node epoch, streams, objects, bytes, amplification. */
@Command(name = "info", mixinStandardHelpOptions = true, description = "Formats and versions, node epoch, streams, objects, bytes, amplification.")
final class InfoCommand extends BaseCommand {

    @Mixin
    StoreOptions storeOptions;

    @Override
    public Integer call() throws IOException {
        try (StoreAccess store = storeOptions.open()) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("objectStore", store.redactedUri());
            ManifestMetadataStore manifest = store.manifest();
            Map<String, Object> m = manifestInfo(store);
            ManifestSummary summary = ManifestSummary.of(manifest);
            m.put("loadedVersion", summary.version());
            m.put("nodeEpoch", summary.nodeEpoch());
            m.put("nextStreamId", summary.nextStreamId());
            m.put("walTrimPosition", summary.walTrimPosition());
            doc.put("manifest", m);

            List<StreamMetadata> streams = manifest.streams();
            Map<Long, StreamMetadata> byId = new HashMap<>();
            streams.forEach(s -> byId.put(s.streamId(), s));
            long streamSet = 0;
            long streamObjects = 0;
            long storedBytes = 0;
            double liveBytes = 0;
            for (ObjectMetadata o : manifest.objects()) {
                if (o.type() == ObjectType.STREAM_SET) {
                    streamSet++;
                } else {
                    streamObjects++;
                }
                storedBytes += o.sizeBytes();
                for (StreamRange r : o.ranges()) {
                    liveBytes += liveBytes(r, byId.get(r.streamId()));
                }
            }
            Map<String, Object> objects = new LinkedHashMap<>();
            Map<Integer, Long> objectFormats = objectFormats(store, manifest.objects());
            objects.put("formatVersions", objectFormats);
            objects.put("count", streamSet + streamObjects);
            objects.put("streamSetObjects", streamSet);
            objects.put("streamObjects", streamObjects);
            objects.put("storedBytes", storedBytes);
            objects.put("liveBytes", Math.round(liveBytes));
            objects.put("amplification", liveBytes == 0 ? 1.0 : storedBytes / liveBytes);
            doc.put("streams", streams.size());
            doc.put("objects", objects);
            doc.put("wal", walInfo(store));

            text("object store:   " + store.redactedUri());
            text("manifest:       version " + m.get("version") + ", format "
                    + (m.get("formatVersion") == null ? "none (no manifest written yet)" : m.get("formatVersion")) + " (this build "
                    + "writes 3, 4 for streams with a tenant or tags, 5 with client-side encryption; reads 2-5), node epoch " + summary.nodeEpoch() + ", next stream id "
                    + summary.nextStreamId() + ", WAL trim position " + summary.walTrimPosition());
            text("streams:        " + streams.size());
            text("objects:        " + (streamSet + streamObjects) + " (" + streamSet + " stream-set, " + streamObjects
                    + " stream), formats " + (objectFormats.isEmpty() ? "none" : objectFormats.entrySet().stream()
                            .map(e -> e.getKey() + " (" + e.getValue() + " objects)").collect(java.util.stream.Collectors.joining(", ")))
                    + " (this build writes " + ObjectFooterDescriptor.VERSION_1 + ")");
            text("bytes:          " + storedBytes + " stored, " + Math.round(liveBytes) + " live, amplification "
                    + String.format(Locale.ROOT, "%.2f", (Double) objects.get("amplification")));
            @SuppressWarnings("unchecked")
            Map<String, Object> wal = (Map<String, Object>) doc.get("wal");
            text("wal:            " + (wal == null ? "not given (--wal-path)" : wal.get("text")));
            if (wal != null) {
                wal.remove("text");
            }
            return finish(doc);
        }
    }

    /**
     * The footer format version of every object the manifest lists (one ranged read of each footer),
     * and how many objects have each; an object that cannot be read or has no valid footer is left
     * to {@code verify} (which names it) and counted under -1.
     */
    private static Map<Integer, Long> objectFormats(StoreAccess store, java.util.Collection<ObjectMetadata> objects) {
        Map<Integer, Long> out = new java.util.TreeMap<>();
        for (ObjectMetadata o : objects) {
            int version = -1;
            try {
                ByteBuffer footer = ByteBuffer.wrap(store.readSuffix(o.key(), ObjectFooterDescriptor.FOOTER_SIZE));
                if (footer.remaining() == ObjectFooterDescriptor.FOOTER_SIZE
                        && footer.getInt(ObjectFooterDescriptor.MAGIC_OFFSET) == ObjectFooterDescriptor.MAGIC) {
                    version = footer.getShort(ObjectFooterDescriptor.VERSION_OFFSET);
                }
            } catch (RuntimeException e) {
                // missing or unreadable: verify reports it
            }
            out.merge(version, 1L, Long::sum);
        }
        return out;
    }

    /** Bytes of {@code r} at or above its stream's start (none for a deleted stream), pro rata. */
    static double liveBytes(StreamRange r, StreamMetadata s) {
        if (s == null || r.endOffset() <= s.startOffset() || r.offsetCount() == 0) {
            return 0;
        }
        long from = Math.max(r.startOffset(), s.startOffset());
        return (double) r.sizeBytes() * (r.endOffset() - from) / r.offsetCount();
    }

    /** The newest manifest version stored and the format of the file holding it. */
    private Map<String, Object> manifestInfo(StoreAccess store) {
        Map<String, Object> m = new LinkedHashMap<>();
        String newestKey = null;
        long newest = 0;
        for (String prefix : List.of("manifest/log/", "manifest/snapshot/")) {
            for (ObjectInfo info : store.list(StoreAccess.MANIFEST_ROOT + prefix)) {
                long v = Long.parseLong(info.key().substring(info.key().lastIndexOf('/') + 1));
                if (v >= newest) {
                    newest = v;
                    newestKey = info.key();
                }
            }
        }
        m.put("version", newest);
        Object format = null;
        if (newestKey != null) {
            ByteBuffer b = ByteBuffer.wrap(store.readPrefix(newestKey, ManifestSummary.HEADER_PREFIX_BYTES));
            OptionalInt version = ManifestSummary.formatVersionOf(b);
            if (version.isPresent()) {
                format = version.getAsInt();
            } else {
                problems.add(new Problem("manifest-bad-magic", newestKey, "not a manifest file (magic 0x"
                        + (b.remaining() >= 4 ? Integer.toHexString(b.getInt(0)) : "?") + ")"));
            }
        }
        m.put("formatVersion", format);
        m.put("newestFile", newestKey);
        return m;
    }

    private Map<String, Object> walInfo(StoreAccess store) throws IOException {
        if (store.walPath() == null) {
            return null;
        }
        Map<String, Object> w = new LinkedHashMap<>();
        w.put("path", store.walPath().toString());
        if (!Files.exists(store.walPath())) {
            w.put("exists", false);
            w.put("text", store.walPath() + " (does not exist)");
            return w;
        }
        WalInspector.Result r = WalScan.scan(store.walPath(), e -> { }, problems);
        w.put("formatVersion", r.version());
        w.put("header", WalScan.headerJson(r.header()));
        w.put("records", r.scan() == null ? 0 : r.scan().records());
        w.put("bodyBytes", r.scan() == null ? 0 : r.scan().bodyBytes());
        w.put("text", store.walPath() + ", format " + r.version() + (r.header() == null ? ", no header (never opened)"
                : ", " + WalScan.headerText(r.header()) + ", " + r.scan().records() + " records ("
                + r.scan().bodyBytes() + " bytes) after the trim point"));
        return w;
    }
}
