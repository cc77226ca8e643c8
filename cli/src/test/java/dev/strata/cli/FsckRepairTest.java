package dev.strata.cli;

import static dev.strata.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.core.DurableStreamStore;
import dev.strata.objectstore.ObjectKeys;
import dev.strata.testkit.ChildJvm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code fsck --repair}: deletes orphans unmodified for the orphan TTL and nothing else (young
 * orphans and referenced objects stay, whatever their age), and is refused, changing nothing, while
 * the store is open, in this process or in another one.
 */
class FsckRepairTest {
    private static final long HOUR_MILLIS = 3_600_000L;

    @Test
    void repairDeletesOrphansPastTheTtlOnlyAndReportsWhatItDeleted(@TempDir Path dir) throws Exception {
        CliTestSupport.closedStore(dir, 2, 10);
        Path objects = dir.resolve("objects");
        List<Path> referenced = CliTestSupport.dataObjects(objects);
        long now = System.currentTimeMillis();
        for (Path p : referenced) {
            Files.setLastModifiedTime(p, FileTime.fromMillis(now - 5 * HOUR_MILLIS)); // old, but referenced
        }
        Map<String, String> referencedBefore = hashes(referenced);
        String old = orphan(objects, referenced.get(0), 999_001L, now - 2 * HOUR_MILLIS);
        String young = orphan(objects, referenced.get(0), 999_002L, now);

        CliTestSupport.Result r = run("fsck", "--repair", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PROBLEMS); // the young orphan remains
        assertThat(r.out()).contains("deleted orphan " + old + " size=").contains("(orphan TTL 1800 s)")
                .contains("PROBLEM orphan " + young + ": ").contains("less than the orphan TTL 1800 s: left")
                .contains("deleted 1 orphan(s)").doesNotContain("deleted orphan " + young);
        assertThat(objects.resolve(old)).doesNotExist();
        assertThat(objects.resolve(young)).exists();
        assertThat(hashes(referenced)).as("referenced objects untouched").isEqualTo(referencedBefore);

        CliTestSupport.Result json = run("fsck", "--repair", "--orphan-ttl", "PT0S", "--json", "--data-dir", dir);
        assertThat(json.exitCode()).as(json.toString()).isEqualTo(ExitCodes.OK);
        assertThat(json.out()).contains("\"deleted\": [").contains("\"key\": \"" + young + "\"").contains("\"ok\": true");
        assertThat(objects.resolve(young)).doesNotExist();
        assertThat(hashes(referenced)).isEqualTo(referencedBefore);
        assertThat(run("verify", "--data-dir", dir).exitCode()).isZero();
        try (DurableStreamStore store = CliTestSupport.builder(dir).build()) {
            assertThat(store.storageSummary().toString()).isNotEmpty(); // still opens
        }
    }

    @Test
    void repairIsRefusedWhileTheStoreIsOpenInThisProcess(@TempDir Path dir) throws Exception {
        CliTestSupport.closedStore(dir, 1, 10);
        Path objects = dir.resolve("objects");
        String old = orphan(objects, CliTestSupport.dataObjects(objects).get(0), 999_001L,
                System.currentTimeMillis() - 2 * HOUR_MILLIS);
        try (DurableStreamStore store = CliTestSupport.builder(dir).build()) {
            Map<String, String> before = hashes(files(dir));
            CliTestSupport.Result r = run("fsck", "--repair", "--orphan-ttl", "PT0S", "--data-dir", dir);
            assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE_OR_ACCESS);
            assertThat(r.err()).contains("--repair refused, nothing changed: the store is open");
            assertThat(hashes(files(dir))).as("nothing changed").isEqualTo(before);
            assertThat(objects.resolve(old)).exists();
            assertThat(store.storageSummary()).isNotNull();
        }
        CliTestSupport.Result after = run("fsck", "--repair", "--data-dir", dir);
        assertThat(after.exitCode()).as(after.toString()).isEqualTo(ExitCodes.OK);
        assertThat(objects.resolve(old)).doesNotExist();
    }

    @Test
    void repairIsRefusedWhileAnotherProcessHasTheStoreOpen(@TempDir Path dir) throws Exception {
        CliTestSupport.closedStore(dir, 1, 10);
        Path objects = dir.resolve("objects");
        String old = orphan(objects, CliTestSupport.dataObjects(objects).get(0), 999_001L,
                System.currentTimeMillis() - 2 * HOUR_MILLIS);
        List<String> lines = new ArrayList<>();
        try (ChildJvm child = ChildJvm.of(OpenStoreChild.class).jvmArgs("-Xmx256m").args(dir.toString())
                .stderrTo(dir.resolve("child.err")).start()) {
            lines.add(child.readLine());
            assertThat(lines.get(0)).as("child: %s", child.stderr()).startsWith("READY");
            Map<String, String> before = hashes(files(objects));
            CliTestSupport.Result r = run("fsck", "--repair", "--data-dir", dir);
            assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE_OR_ACCESS);
            assertThat(r.err()).contains("the store is open").contains("pid=" + child.pid());
            assertThat(hashes(files(objects))).as("nothing changed").isEqualTo(before);
            assertThat(objects.resolve(old)).exists();
        }
    }

    /** A copy of {@code like} under a data object key no manifest references, last modified at {@code mtime}. */
    private static String orphan(Path objects, Path like, long objectId, long mtime) throws IOException {
        String key = ObjectKeys.dataObjectKey(ObjectKeys.ObjectType.STREAM_SET, objectId);
        Path p = objects.resolve(key);
        Files.createDirectories(p.getParent());
        Files.copy(like, p);
        Files.setLastModifiedTime(p, FileTime.fromMillis(mtime));
        return key;
    }

    /** Every regular file under {@code dir} but lock files and the child's stderr. */
    private static List<Path> files(Path dir) throws IOException {
        try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).filter(p -> !p.toString().endsWith(".lock"))
                    .filter(p -> !p.getFileName().toString().equals("child.err")).sorted().toList();
        }
    }

    private static Map<String, String> hashes(List<Path> files) throws Exception {
        Map<String, String> out = new TreeMap<>();
        for (Path p : files) {
            out.put(p.toString(), HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
        }
        return out;
    }
}
