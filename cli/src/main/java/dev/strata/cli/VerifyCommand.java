package dev.strata.cli;

import dev.strata.api.CorruptDataException;
import dev.strata.core.metadata.ManifestMetadataStore;
import dev.strata.core.metadata.ObjectMetadata;
import dev.strata.objectstore.ObjectInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code strata verify [--deep]}: every manifest object present with its recorded size, every
 * object's footer, index and blocks with their CRCs, its stream ranges as the manifest says, every
 * stream's committed offsets held by objects without gaps, and the WAL (when given): header slots,
 * file length, no acknowledged data lost inside the log. {@code --deep} also checks every batch's
 * CRC and offsets, in objects and in the WAL.
 */
@Command(name = "verify", mixinStandardHelpOptions = true, description = "Checks objects (footer, index, blocks, CRCs), the manifest against the"
        + " object store, streams' committed ranges, and the WAL; exit 1 if anything is wrong.")
final class VerifyCommand extends BaseCommand {

    @Mixin
    StoreOptions storeOptions;

    @Option(names = "--deep", description = "also decode every batch and check its CRC and offsets")
    boolean deep;

    @Override
    public Integer call() throws IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        try (StoreAccess store = storeOptions.open()) {
            doc.put("objectStore", store.redactedUri());
            ManifestMetadataStore manifest;
            try {
                manifest = store.manifest();
            } catch (CorruptDataException e) {
                problems.add(new Problem("corrupt-manifest", "manifest/", e.getMessage()));
                return finish(doc);
            }
            StoreChecks checks = new StoreChecks(store);
            Map<String, ObjectInfo> stored = checks.storedDataObjects();
            List<ObjectMetadata> objects = new ArrayList<>(manifest.objects());
            java.util.Set<String> missing = new java.util.HashSet<>();
            long blocks = checks.checkObjects(objects, stored, true, deep, problems, missing);
            StoreChecks.checkStreamRanges(manifest.streams(), objects, missing, problems);
            text("checked " + objects.size() + " objects (" + blocks + " blocks" + (deep ? ", every batch" : "")
                    + ") and " + manifest.streams().size() + " streams of " + store.redactedUri());
            doc.put("objects", objects.size());
            doc.put("blocks", blocks);
            doc.put("streams", manifest.streams().size());
            doc.put("deep", deep);
            if (store.walPath() != null && Files.exists(store.walPath())) {
                long[] records = new long[1];
                WalScan.scan(store.walPath(), e -> records[0]++, problems);
                text("checked the WAL " + store.walPath() + " (" + records[0] + " records after the trim point)");
                doc.put("wal", store.walPath().toString());
                doc.put("walRecords", records[0]);
            } else {
                text("no WAL checked" + (store.walPath() == null ? " (give --wal-path)" : ": " + store.walPath()
                        + " does not exist"));
            }
            return finish(doc);
        }
    }
}
