package dev.strata.core.golden;

import dev.strata.testkit.ChildJvm;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;

/**
 * Writes a golden store with this build: runs {@link GoldenStoreWriter} in a child JVM, kills it with
 * SIGKILL once it printed {@code READY} (so its last appends stay only in the WAL), and copies what it
 * left into {@code OUT/<name>/}, where the name is the format versions the files hold
 * ({@link FormatVersions#directoryName()}, e.g. {@code wal2-object1-manifest3}):
 * <ul>
 *   <li>{@code store/}: the data directory, without its lock files (made by every open, not data), the
 *       WAL gzipped as {@code store/wal/strata.wal.gz} (a preallocated file, mostly zeros);</li>
 *   <li>{@value GoldenExpectations#FILE_NAME}: every acknowledged batch with its payload's SHA-256,
 *       the trim and the delete ({@link GoldenExpectations});</li>
 *   <li>{@value GoldenStores#PROPERTIES}: the format versions and the WAL capacity to open it with.</li>
 * </ul>
 * An existing directory of that name is refused: a golden store, once committed, never changes
 * (a new format version makes a new directory, and the old ones stay, tested by
 * {@code GoldenStoreCompatibilityTest}).
 *
 * <p>Run it (documented in docs/formats.md) with
 * {@code mvn -B -o -pl core -am test -Dtest=GoldenStoreGeneratorRun -Dsurefire.failIfNoSpecifiedTests=false
 * -Dstrata.golden.out=$PWD/core/src/test/resources/golden}: the child needs the test class path, which
 * surefire provides. Arguments of {@link #main}: the output directory.
 */
public final class GoldenStoreGenerator {

    private GoldenStoreGenerator() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: GoldenStoreGenerator OUT_DIR");
        }
        System.out.println("wrote " + generate(Path.of(args[0])));
    }

    /** Generates a golden store under {@code outRoot}; returns its directory. */
    static Path generate(Path outRoot) throws Exception {
        Path work = Files.createTempDirectory("strata-golden");
        try {
            Path dataDir = work.resolve("store");
            Path expectations = work.resolve(GoldenExpectations.FILE_NAME);
            List<String> lines = new ArrayList<>();
            try (ChildJvm child = ChildJvm.of(GoldenStoreWriter.class).jvmArgs("-Xmx256m")
                    .args(dataDir.toString(), expectations.toString()).stderrTo(work.resolve("child.err")).start()) {
                child.readLinesKillingWhen(lines::add, () -> lines.contains("READY"));
                child.close();
                if (!lines.contains("READY")) {
                    throw new IllegalStateException("the writer ended before READY: " + lines + "\n" + child.stderr());
                }
            }
            FormatVersions versions = FormatVersions.of(dataDir.resolve("wal").resolve("strata.wal"),
                    dataDir.resolve("objects"));
            Path out = outRoot.resolve(versions.directoryName());
            if (Files.exists(out)) {
                throw new IllegalStateException(out + " exists: a golden store never changes; delete it by hand to"
                        + " regenerate it within the same format versions");
            }
            copyStore(dataDir, out.resolve(GoldenStores.STORE));
            Files.copy(expectations, out.resolve(GoldenExpectations.FILE_NAME));
            GoldenStores.writeProperties(out, versions, GoldenStoreWriter.WAL_CAPACITY_BYTES);
            return out;
        } finally {
            deleteTree(work);
        }
    }

    /** Copies the data directory without lock files, gzipping the WAL. */
    private static void copyStore(Path from, Path to) throws IOException {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(from)) {
            files = walk.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path file : files) {
            String name = file.getFileName().toString();
            if (name.endsWith(".lock")) {
                continue;
            }
            Path target = to.resolve(from.relativize(file).toString());
            Files.createDirectories(target.getParent());
            if (name.equals(GoldenStores.WAL_FILE)) {
                try (InputStream in = Files.newInputStream(file);
                        OutputStream out = new GZIPOutputStream(Files.newOutputStream(
                                target.resolveSibling(name + GoldenStores.GZ_SUFFIX)))) {
                    in.transferTo(out);
                }
            } else {
                Files.copy(file, target);
            }
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
