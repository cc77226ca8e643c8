package dev.strata.core.golden;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.CorruptDataException;
import dev.strata.api.Stream;
import dev.strata.api.UnsupportedFormatVersionException;
import dev.strata.core.DurableStreamStore;
import dev.strata.objectstore.format.ObjectFooterDescriptor;
import dev.strata.wal.UnsupportedWalFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A format version this build does not know, as a newer release would write it, is refused with a
 * typed error naming the version, and nothing of the store is changed or deleted. Each test copies a
 * golden store and rewrites one format's version field to {@value #NEWER} with its checksum
 * recomputed (intact bytes of an unknown version, not damage):
 * <ul>
 *   <li>both WAL header slots: the open fails with {@link UnsupportedWalFormatException} and every
 *       file is as it was;</li>
 *   <li>the newest manifest file: the open fails with {@link UnsupportedFormatVersionException}
 *       ({@code manifest}) and every file, the WAL included, is as it was;</li>
 *   <li>every data object's footer: the open succeeds (objects are read when their data is), a read
 *       of that data fails with {@link UnsupportedFormatVersionException} ({@code object}), a
 *       compaction cycle leaves the objects alone, and after close every object file is there with its
 *       bytes (the open adds manifest files and an object for the WAL's data; it changes none).</li>
 * </ul>
 * Lock files ({@code *.lock}, made by every open, holding the opener's pid) are not store data and
 * are not compared.
 */
class NewerFormatRefusedTest {
    /** The version written into the files: above any this build reads. */
    static final int NEWER = 100;

    @TempDir
    Path tmp;

    static List<GoldenStores.Golden> goldenStores() throws Exception {
        return GoldenStores.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldenStores")
    void aNewerWalFormatIsRefusedAndNothingChanges(GoldenStores.Golden golden) throws Exception {
        Path dataDir = GoldenStores.copy(golden, tmp.resolve("store"));
        setWalVersion(GoldenStores.walFile(dataDir), NEWER);
        Map<String, String> before = hashes(dataDir);

        assertThatThrownBy(() -> GoldenStoreCompatibilityTest.open(golden, dataDir).close())
                .isInstanceOfSatisfying(UnsupportedWalFormatException.class, e -> {
                    assertThat(e.foundVersion()).isEqualTo(NEWER);
                    assertThat(e.supportedVersion()).isEqualTo(golden.version("wal"));
                })
                .hasMessageContaining("version=" + NEWER);
        assertThat(hashes(dataDir)).as("every file unchanged").isEqualTo(before);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldenStores")
    void aNewerManifestFormatIsRefusedAndNothingChanges(GoldenStores.Golden golden) throws Exception {
        Path dataDir = GoldenStores.copy(golden, tmp.resolve("store"));
        List<Path> manifestFiles = FormatVersions.manifestFiles(GoldenStores.objectsDir(dataDir));
        Path newest = manifestFiles.get(manifestFiles.size() - 1);
        setManifestFormat(newest, NEWER);
        Map<String, String> before = hashes(dataDir);

        assertThatThrownBy(() -> GoldenStoreCompatibilityTest.open(golden, dataDir).close())
                .isInstanceOfSatisfying(UnsupportedFormatVersionException.class, e -> {
                    assertThat(e.format()).isEqualTo("manifest");
                    assertThat(e.foundVersion()).isEqualTo(NEWER);
                    assertThat(e.location()).contains(newest.getFileName().toString());
                })
                .hasMessageContaining("version=" + NEWER);
        assertThat(hashes(dataDir)).as("every file unchanged, the WAL included").isEqualTo(before);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldenStores")
    void aNewerObjectFormatIsRefusedWhenReadAndTheObjectsStay(GoldenStores.Golden golden) throws Exception {
        Path dataDir = GoldenStores.copy(golden, tmp.resolve("store"));
        Path objects = GoldenStores.objectsDir(dataDir);
        List<Path> dataObjects = FormatVersions.dataObjects(objects);
        for (Path p : dataObjects) {
            setObjectVersion(p, NEWER);
        }
        Map<String, String> before = hashes(objects);
        GoldenExpectations expected = golden.expected();
        long streamId = expected.streams().stream().filter(id -> !expected.isDeleted(id)).findFirst().orElseThrow();

        try (DurableStreamStore store = GoldenStoreCompatibilityTest.open(golden, dataDir)) {
            Stream s = await(store.openStream(streamId, 1));
            assertThatThrownBy(() -> await(s.fetch(s.startOffset(), Long.MAX_VALUE, 1 << 20)).close())
                    .isInstanceOfSatisfying(CorruptDataException.class, e -> {
                        UnsupportedFormatVersionException u = unsupported(e);
                        assertThat(u.format()).isEqualTo("object");
                        assertThat(u.foundVersion()).isEqualTo(NEWER);
                        assertThat(u.getMessage()).contains("version=" + NEWER).contains("supported=1");
                    });
            await(store.compact());
        }
        Map<String, String> after = hashes(objects);
        before.forEach((file, hash) -> assertThat(after.get(file)).as("%s unchanged", file).isEqualTo(hash));
    }

    /** The UnsupportedFormatVersionException in {@code e}'s cause chain. */
    private static UnsupportedFormatVersionException unsupported(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnsupportedFormatVersionException u) {
                return u;
            }
        }
        throw new AssertionError("no UnsupportedFormatVersionException in the cause chain of " + e, e);
    }

    /** Each written WAL header slot (one 4096-byte block each, at 0 and 4096): version, then its CRC32C. */
    static void setWalVersion(Path wal, int version) throws IOException {
        byte[] b = Files.readAllBytes(wal);
        for (int slot = 0; slot < 2; slot++) {
            ByteBuffer h = ByteBuffer.wrap(b, slot * FormatVersions.WAL_BLOCK_SIZE, FormatVersions.WAL_BLOCK_SIZE)
                    .slice().order(ByteOrder.LITTLE_ENDIAN);
            if (h.getInt(0) == 0) {
                continue; // never written
            }
            h.putInt(FormatVersions.WAL_VERSION_OFFSET, version);
            h.putInt(72, crc32c(h, 72)); // WalHeaderDescriptor: crc of [0, 72) at 72
        }
        Files.write(wal, b);
    }

    /** A manifest file's format (i16 at 4), then its header CRC32C (of [0, 24) at 24). */
    static void setManifestFormat(Path file, int format) throws IOException {
        byte[] b = Files.readAllBytes(file);
        ByteBuffer h = ByteBuffer.wrap(b);
        h.putShort(FormatVersions.MANIFEST_FORMAT_OFFSET, (short) format);
        h.putInt(24, crc32c(h, 24));
        Files.write(file, b);
    }

    /** An object footer's version, then the footer CRC32C (of the footer's [0, 24)). */
    static void setObjectVersion(Path object, int version) throws IOException {
        byte[] b = Files.readAllBytes(object);
        ByteBuffer footer = ByteBuffer.wrap(b, b.length - ObjectFooterDescriptor.FOOTER_SIZE,
                ObjectFooterDescriptor.FOOTER_SIZE).slice();
        footer.putShort(ObjectFooterDescriptor.VERSION_OFFSET, (short) version);
        footer.putInt(ObjectFooterDescriptor.CRC_OFFSET, crc32c(footer, ObjectFooterDescriptor.CRC_OFFSET));
        Files.write(object, b);
    }

    private static int crc32c(ByteBuffer b, int length) {
        CRC32C crc = new CRC32C();
        crc.update(b.duplicate().position(0).limit(length));
        return (int) crc.getValue();
    }

    /** Every file under {@code dir} but lock files, by relative path: its SHA-256. */
    static Map<String, String> hashes(Path dir) throws IOException {
        try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).filter(p -> !p.getFileName().toString().endsWith(".lock"))
                    .collect(Collectors.toMap(p -> dir.relativize(p).toString(), p -> {
                        try {
                            return GoldenExpectations.sha256(Files.readAllBytes(p));
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }, (a, b) -> a, TreeMap::new));
        }
    }
}
