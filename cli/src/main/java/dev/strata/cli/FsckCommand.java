package dev.strata.cli;

import dev.strata.core.metadata.ManifestMetadataStore;
import dev.strata.core.metadata.ObjectMetadata;
import dev.strata.objectstore.IncompleteUpload;
import dev.strata.objectstore.ObjectInfo;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * {@code strata fsck}: the manifest against the object store without reading the objects' data:
 * orphans (data objects no manifest entry references), missing objects, objects whose size differs
 * from the manifest's, stream offsets that point at no object, and abandoned uploads. Report only:
 * {@code --repair} is refused (see {@link #repair}).
 */
@Command(name = "fsck", mixinStandardHelpOptions = true, description = "Orphans, missing objects, ranges that point at nothing; report only.")
final class FsckCommand extends BaseCommand {

    @Mixin
    StoreOptions storeOptions;

    /**
     * Refused with exit code 2: deleting orphans safely needs the store's fencing (a manifest
     * change that proves the deleter owns the store, then deletion only of objects unreferenced for
     * the orphan TTL), which a tool that must not take the store over cannot give. The running
     * store's compactor already deletes orphans past the TTL that way.
     */
    @Option(names = "--repair", description = "not supported: the store's compactor deletes orphans past the TTL itself")
    boolean repair;

    @Override
    public Integer call() {
        if (repair) {
            throw new ParameterException(spec.commandLine(), "--repair is not supported: fsck only reports; a running"
                    + " store deletes orphans older than its orphan TTL itself, under its fencing");
        }
        try (StoreAccess store = storeOptions.open()) {
            StoreChecks checks = new StoreChecks(store);
            // list first, then read the manifest: an object committed in between is then referenced,
            // never reported as an orphan (one uploaded but not yet committed still can be)
            Map<String, ObjectInfo> stored = checks.storedDataObjects();
            ManifestMetadataStore manifest = store.manifest();
            List<ObjectMetadata> objects = new ArrayList<>(manifest.objects());
            Set<String> referenced = new HashSet<>();
            objects.forEach(o -> referenced.add(o.key()));
            List<Object> orphans = new ArrayList<>();
            for (ObjectInfo info : stored.values()) {
                if (!referenced.contains(info.key())) {
                    problems.add(new Problem("orphan", info.key(), "size=" + info.size() + " is in the object store but"
                            + " in no manifest entry (an upload or compaction that did not commit, or garbage waiting"
                            + " for its grace period; the store deletes it after the orphan TTL)"));
                    orphans.add(info.key());
                }
            }
            Set<String> missing = new HashSet<>();
            checks.checkObjects(objects, stored, false, false, problems, missing);
            StoreChecks.checkStreamRanges(manifest.streams(), objects, missing, problems);
            List<Object> incomplete = new ArrayList<>();
            for (IncompleteUpload u : StoreAccess.await(store.storage().listIncompleteUploads())) {
                incomplete.add(u.toString());
                text("abandoned upload (not a problem; the store aborts it after the orphan TTL): " + u);
            }
            text("checked " + stored.size() + " stored data objects against " + objects.size() + " manifest entries and "
                    + manifest.streams().size() + " streams");
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("storedObjects", stored.size());
            doc.put("manifestObjects", objects.size());
            doc.put("orphans", orphans);
            doc.put("incompleteUploads", incomplete);
            return finish(doc);
        }
    }
}
