package dev.strata.core.golden;

import dev.strata.objectstore.ObjectKeys;
import dev.strata.objectstore.format.ObjectFooterDescriptor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The format versions a store's files carry, read from their bytes at the offsets docs/formats.md
 * gives (not from the build's constants, so the result describes the files): the WAL header slots'
 * version (little-endian i32 at byte 4 of each written slot), every data object's footer version
 * (big-endian i16 at byte 20 of the last 32) and every manifest file's format (big-endian i16 at
 * byte 4).
 *
 * @param wal versions in the WAL's written header slots
 * @param object versions in the data objects' footers
 * @param manifest formats of the manifest files
 */
record FormatVersions(Set<Integer> wal, Set<Integer> object, Set<Integer> manifest) {

    /** Where the version sits in a WAL header slot; the slots are one block each, at 0 and 4096. */
    static final int WAL_VERSION_OFFSET = 4;
    static final int WAL_BLOCK_SIZE = 4096;
    /** Where the format sits in a manifest file. */
    static final int MANIFEST_FORMAT_OFFSET = 4;
    /** Where the manifest files are under the object store's root. */
    static final String MANIFEST_DIR = "manifest";

    static FormatVersions of(Path walFile, Path objectsDir) throws IOException {
        Set<Integer> wal = new TreeSet<>();
        try (FileChannel ch = FileChannel.open(walFile)) {
            for (int slot = 0; slot < 2; slot++) {
                ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
                ch.read(b, (long) slot * WAL_BLOCK_SIZE);
                if (b.getInt(0) != 0) { // a written slot (an unwritten one is zeros)
                    wal.add(b.getInt(WAL_VERSION_OFFSET));
                }
            }
        }
        Set<Integer> object = new TreeSet<>();
        for (Path p : dataObjects(objectsDir)) {
            byte[] bytes = Files.readAllBytes(p);
            object.add((int) ByteBuffer.wrap(bytes).getShort(bytes.length - ObjectFooterDescriptor.FOOTER_SIZE
                    + ObjectFooterDescriptor.VERSION_OFFSET));
        }
        Set<Integer> manifest = new TreeSet<>();
        for (Path p : manifestFiles(objectsDir)) {
            manifest.add((int) ByteBuffer.wrap(Files.readAllBytes(p)).getShort(MANIFEST_FORMAT_OFFSET));
        }
        return new FormatVersions(wal, object, manifest);
    }

    /** The data objects under {@code objectsDir} (files whose key is a data object key), sorted. */
    static List<Path> dataObjects(Path objectsDir) throws IOException {
        try (Stream<Path> walk = Files.walk(objectsDir)) {
            return walk.filter(Files::isRegularFile)
                    .filter(p -> ObjectKeys.parseObjectId(objectsDir.relativize(p).toString().replace('\\', '/')) >= 0)
                    .sorted().toList();
        }
    }

    /** The manifest files (log entries and snapshots), sorted by key. */
    static List<Path> manifestFiles(Path objectsDir) throws IOException {
        Path dir = objectsDir.resolve(MANIFEST_DIR);
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).sorted().toList();
        }
    }

    /** {@code wal2-object1-manifest3}: requires one version of each. */
    String directoryName() {
        return "wal" + single("WAL", wal) + "-object" + single("object", object) + "-manifest" + single("manifest", manifest);
    }

    private static int single(String what, Set<Integer> versions) {
        if (versions.size() != 1) {
            throw new IllegalStateException("expected one " + what + " format version, found " + versions);
        }
        return versions.iterator().next();
    }
}
