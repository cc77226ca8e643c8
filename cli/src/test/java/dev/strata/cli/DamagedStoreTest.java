package dev.strata.cli;

import static dev.strata.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.objectstore.ObjectKeys;
import dev.strata.objectstore.format.DataBlockDescriptor;
import dev.strata.objectstore.format.ObjectFooterDescriptor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** verify and fsck on stores damaged after they were written: each problem found, named, exit 1. */
class DamagedStoreTest {

    @Test
    void aFlippedByteInAnObjectIsFoundWithItsKeyBlockAndOffsets(@TempDir Path dir) {
        CliTestSupport.closedStore(dir, 2, 20);
        Path objects = dir.resolve("objects");
        Path file = CliTestSupport.dataObjects(objects).get(0);
        String key = CliTestSupport.key(objects, file);
        CliTestSupport.flipByte(file, DataBlockDescriptor.HEADER_SIZE + 7); // inside block 0's stored bytes

        CliTestSupport.Result r = run("verify", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.out()).containsPattern("PROBLEM corrupt-block " + key + ": block=0 streamId=\\d+ offsets=\\[0,\\d+\\)")
                .contains("1 problem(s) found");

        CliTestSupport.Result dump = run("dump-object", key, "--data-dir", dir);
        assertThat(dump.exitCode()).as(dump.toString()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(dump.out()).contains("block 0:").contains("CORRUPT");

        CliTestSupport.Result json = run("verify", "--json", "--data-dir", dir);
        assertThat(json.exitCode()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(json.out()).contains("\"kind\": \"corrupt-block\"").contains("\"where\": \"" + key + "\"")
                .contains("\"ok\": false");
    }

    @Test
    void aMissingObjectIsFoundWithItsKeyAndTheOffsetsItHeld(@TempDir Path dir) throws IOException {
        List<Long> streams = CliTestSupport.closedStore(dir, 1, 10);
        Path objects = dir.resolve("objects");
        Path file = CliTestSupport.dataObjects(objects).get(0);
        String key = CliTestSupport.key(objects, file);
        Files.delete(file);

        CliTestSupport.Result r = run("verify", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.out()).contains("PROBLEM missing-object " + key)
                .contains("PROBLEM gap stream=" + streams.get(0) + ": offsets [0,10)");

        CliTestSupport.Result fsck = run("fsck", "--data-dir", dir);
        assertThat(fsck.exitCode()).as(fsck.toString()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(fsck.out()).contains("PROBLEM missing-object " + key);
    }

    @Test
    void anObjectOfAnotherSizeThanTheManifestSaysIsFound(@TempDir Path dir) throws IOException {
        CliTestSupport.closedStore(dir, 1, 10);
        Path objects = dir.resolve("objects");
        Path file = CliTestSupport.dataObjects(objects).get(0);
        long size = Files.size(file);
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(size - 1);
        }
        CliTestSupport.Result r = run("verify", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.out()).contains("PROBLEM size-mismatch " + CliTestSupport.key(objects, file) + ": manifest size="
                + size + " stored size=" + (size - 1));
    }

    @Test
    void fsckReportsAnOrphanAndVerifyIgnoresIt(@TempDir Path dir) throws IOException {
        CliTestSupport.closedStore(dir, 1, 10);
        Path objects = dir.resolve("objects");
        Path file = CliTestSupport.dataObjects(objects).get(0);
        String orphan = ObjectKeys.dataObjectKey(ObjectKeys.ObjectType.STREAM_SET, 999_999L);
        Path copy = objects.resolve(orphan);
        Files.createDirectories(copy.getParent());
        Files.copy(file, copy);

        CliTestSupport.Result r = run("fsck", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.out()).contains("PROBLEM orphan " + orphan);
        assertThat(run("verify", "--data-dir", dir).exitCode()).isZero();
        assertThat(copy).exists(); // report only
    }

    /**
     * An object footer of a newer version (checksum recomputed: intact, not damaged) is reported as
     * {@code unsupported-version} naming the key and the version; a manifest file of a newer format
     * stops every command with exit 2 naming it.
     */
    @Test
    void newerFormatVersionsAreNamedAsSuch(@TempDir Path dir) throws IOException {
        CliTestSupport.closedStore(dir, 1, 10);
        Path objects = dir.resolve("objects");
        Path file = CliTestSupport.dataObjects(objects).get(0);
        byte[] b = Files.readAllBytes(file);
        java.nio.ByteBuffer footer = java.nio.ByteBuffer.wrap(b, b.length - ObjectFooterDescriptor.FOOTER_SIZE,
                ObjectFooterDescriptor.FOOTER_SIZE).slice();
        footer.putShort(ObjectFooterDescriptor.VERSION_OFFSET, (short) 7);
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(footer.duplicate().position(0).limit(ObjectFooterDescriptor.CRC_OFFSET));
        footer.putInt(ObjectFooterDescriptor.CRC_OFFSET, (int) crc.getValue());
        Files.write(file, b);

        CliTestSupport.Result r = run("verify", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(r.out()).contains("PROBLEM unsupported-version " + CliTestSupport.key(objects, file)
                + ": object format version not supported").contains("version=7 supported=1");

        Path manifestFile;
        try (java.util.stream.Stream<Path> files = Files.list(objects.resolve("manifest").resolve("log"))) {
            manifestFile = files.sorted().reduce((a, c) -> c).orElseThrow();
        }
        byte[] m = Files.readAllBytes(manifestFile);
        java.nio.ByteBuffer h = java.nio.ByteBuffer.wrap(m);
        h.putShort(4, (short) 9);
        crc.reset();
        crc.update(m, 0, 24);
        h.putInt(24, (int) crc.getValue());
        Files.write(manifestFile, m);
        CliTestSupport.Result info = run("info", "--data-dir", dir);
        assertThat(info.exitCode()).as(info.toString()).isEqualTo(ExitCodes.USAGE_OR_ACCESS);
        assertThat(info.err()).contains("unsupported format version: manifest format version not supported")
                .contains("version=9 supported=2-5");
    }
}
