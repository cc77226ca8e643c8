package dev.strata.cli;

import dev.strata.api.StorageInUseException;
import dev.strata.core.Strata;
import dev.strata.core.metadata.ManifestMetadataStore;
import dev.strata.core.metadata.ObjectMetadata;
import dev.strata.objectstore.IncompleteUpload;
import dev.strata.objectstore.LocalObjectStorage;
import dev.strata.objectstore.ObjectInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
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
 * from the manifest's, stream offsets that point at no object, and abandoned uploads. Report only,
 * unless {@code --repair}.
 *
 * <p>{@code --repair} deletes orphans, and only orphans, that are provably nobody's: it runs only
 * against a {@code file:} object store, holds the store's own ownership locks ({@link RepairLock}:
 * the data directory's and the WAL's, so it is refused, exit 2, changing nothing, while the store is
 * open), lists the objects, reads the manifest after the listing (so an object committed in between
 * is referenced, never taken for an orphan), and deletes an unreferenced object only if its file was
 * last modified at least {@code --orphan-ttl} ago: the time the store itself gives an upload to be
 * committed, so even a writer the locks cannot see (another host sharing the directory, which is not
 * supported) would have committed or abandoned it. Everything else stays a reported problem: young
 * orphans, missing objects, gaps, abandoned uploads. Exit 0 if nothing is left to report, 1 if
 * problems remain. S3 is refused: no lock spans the hosts that may write a bucket; there the running
 * store's compactor deletes orphans itself, under its node-epoch fencing.
 */
@Command(name = "fsck", mixinStandardHelpOptions = true,
        description = "Orphans, missing objects, ranges that point at nothing; --repair deletes orphans past the TTL.")
final class FsckCommand extends BaseCommand {

    @Mixin
    StoreOptions storeOptions;

    @Option(names = "--repair", description = "delete orphan objects unmodified for --orphan-ttl (file: object stores"
            + " only; takes the store's locks, so it is refused while the store is open)")
    boolean repair;

    @Option(names = "--orphan-ttl", paramLabel = "DURATION", description = "with --repair: how long an orphan must"
            + " have been unmodified before it is deleted, ISO-8601 (default ${DEFAULT-VALUE}, the store's default)")
    Duration orphanTtl = Strata.Builder.DEFAULT_ORPHAN_TTL;

    @Override
    public Integer call() {
        if (!repair) {
            return check(null);
        }
        if (orphanTtl.isNegative()) {
            throw new ParameterException(spec.commandLine(), "--orphan-ttl must not be negative: " + orphanTtl);
        }
        URI uri = storeOptions.objectStoreUri();
        if (!"file".equals(uri.getScheme())) {
            throw new ParameterException(spec.commandLine(), "--repair works on file: object stores only: on "
                    + uri.getScheme() + ": no lock proves that no store on another host is writing; the running"
                    + " store deletes orphans older than its orphan TTL itself, under its fencing");
        }
        RepairLock lock;
        try {
            lock = RepairLock.take(storeOptions.dataDir, storeOptions.wal());
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        } catch (StorageInUseException e) {
            spec.commandLine().getErr().println("strata fsck: --repair refused, nothing changed: the store is open: "
                    + e.getMessage());
            spec.commandLine().getErr().flush();
            return ExitCodes.USAGE_OR_ACCESS;
        }
        try (lock) {
            text("holding the store's locks: " + String.join(", ", lock.targets()));
            return check(Path.of(uri));
        }
    }

    /** The check; with {@code repairRoot} (the object directory), orphans past the TTL are deleted. */
    private int check(Path repairRoot) {
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
            List<Deleted> due = new ArrayList<>();
            List<Object> deleted = new ArrayList<>();
            long now = System.currentTimeMillis();
            for (ObjectInfo info : stored.values()) {
                if (referenced.contains(info.key())) {
                    continue;
                }
                if (repairRoot != null) {
                    long unmodifiedMillis = now - lastModifiedMillis(repairRoot, info.key());
                    if (unmodifiedMillis >= orphanTtl.toMillis()) {
                        due.add(new Deleted(info.key(), info.size(), unmodifiedMillis / 1000));
                        continue;
                    }
                    problems.add(new Problem("orphan", info.key(), "size=" + info.size() + " unmodified for "
                            + unmodifiedMillis / 1000 + " s, less than the orphan TTL " + orphanTtl.toSeconds()
                            + " s: left (it may be an upload about to be committed)"));
                } else {
                    problems.add(new Problem("orphan", info.key(), "size=" + info.size() + " is in the object store but"
                            + " in no manifest entry (an upload or compaction that did not commit, or garbage waiting"
                            + " for its grace period; the store deletes it after the orphan TTL)"));
                }
                orphans.add(info.key());
            }
            if (!due.isEmpty()) {
                deleteOrphans(repairRoot, due.stream().map(Deleted::key).toList());
                for (Deleted d : due) {
                    text("deleted orphan " + d.key() + " size=" + d.size() + " unmodified for " + d.unmodifiedSeconds()
                            + " s (orphan TTL " + orphanTtl.toSeconds() + " s)");
                    deleted.add(d.toJson());
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
                    + manifest.streams().size() + " streams" + (repairRoot == null ? "" : "; deleted " + due.size()
                    + " orphan(s)"));
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("storedObjects", stored.size());
            doc.put("manifestObjects", objects.size());
            doc.put("orphans", orphans);
            doc.put("incompleteUploads", incomplete);
            if (repairRoot != null) {
                doc.put("deleted", deleted);
            }
            return finish(doc);
        }
    }

    /** An orphan old enough to be deleted. */
    private record Deleted(String key, long size, long unmodifiedSeconds) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("key", key);
            m.put("size", size);
            m.put("unmodifiedSeconds", unmodifiedSeconds);
            return m;
        }
    }

    /** When the object's file was last written (epoch ms). */
    private static long lastModifiedMillis(Path root, String key) {
        try {
            return Files.getLastModifiedTime(root.resolve(key)).toMillis();
        } catch (NoSuchFileException e) {
            return Long.MAX_VALUE; // gone since the listing: never "old enough"
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the modification time of " + root.resolve(key), e);
        }
    }

    /** Deletes {@code keys} through a writable storage on the same directory. */
    private static void deleteOrphans(Path root, List<String> keys) {
        try (LocalObjectStorage writable = LocalObjectStorage.open(root)) {
            StoreAccess.await(writable.delete(keys));
        }
    }
}
