package dev.strata.core.golden;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Reader;
import java.io.Writer;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * The golden stores committed under {@code src/test/resources/golden/}: one directory per set of
 * format versions ({@link GoldenStoreGenerator}), each with {@value #STORE}/ (a data directory, its
 * WAL gzipped), {@value GoldenExpectations#FILE_NAME} and {@value #PROPERTIES}. Tests never open the
 * committed files: {@link #copy} gives a private, unpacked copy.
 */
final class GoldenStores {
    static final String STORE = "store";
    static final String PROPERTIES = "golden.properties";
    static final String WAL_FILE = "strata.wal";
    static final String GZ_SUFFIX = ".gz";

    private GoldenStores() {
    }

    /** One golden store: its committed directory, expectations and properties. */
    record Golden(String name, Path dir, GoldenExpectations expected, Properties properties) {
        long walCapacityBytes() {
            return Long.parseLong(properties.getProperty("walCapacityBytes"));
        }

        int version(String format) {
            return Integer.parseInt(properties.getProperty(format + "FormatVersion"));
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** Every golden store on the test class path, by name. */
    static List<Golden> all() throws IOException {
        URL url = GoldenStores.class.getClassLoader().getResource("golden");
        if (url == null) {
            throw new IllegalStateException("no golden/ directory among the test resources");
        }
        Path root;
        try {
            root = Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IOException(e);
        }
        try (Stream<Path> dirs = Files.list(root)) {
            List<Path> sorted = dirs.filter(Files::isDirectory).sorted().toList();
            java.util.ArrayList<Golden> out = new java.util.ArrayList<>();
            for (Path dir : sorted) {
                Properties p = new Properties();
                try (Reader r = Files.newBufferedReader(dir.resolve(PROPERTIES), StandardCharsets.UTF_8)) {
                    p.load(r);
                }
                out.add(new Golden(dir.getFileName().toString(), dir,
                        GoldenExpectations.read(dir.resolve(GoldenExpectations.FILE_NAME)), p));
            }
            return out;
        }
    }

    /** Copies {@code golden}'s store to {@code target} (a data directory), unpacking the WAL. */
    static Path copy(Golden golden, Path target) throws IOException {
        Path from = golden.dir().resolve(STORE);
        List<Path> files;
        try (Stream<Path> walk = Files.walk(from)) {
            files = walk.filter(Files::isRegularFile).toList();
        }
        for (Path file : files) {
            Path to = target.resolve(from.relativize(file).toString());
            Files.createDirectories(to.getParent());
            String name = file.getFileName().toString();
            if (name.equals(WAL_FILE + GZ_SUFFIX)) {
                try (InputStream in = new GZIPInputStream(Files.newInputStream(file));
                        OutputStream out = Files.newOutputStream(to.resolveSibling(WAL_FILE))) {
                    in.transferTo(out);
                }
            } else {
                Files.copy(file, to);
            }
        }
        return target;
    }

    /** The WAL file of a data directory. */
    static Path walFile(Path dataDir) {
        return dataDir.resolve("wal").resolve(WAL_FILE);
    }

    /** The object directory of a data directory. */
    static Path objectsDir(Path dataDir) {
        return dataDir.resolve("objects");
    }

    static void writeProperties(Path dir, FormatVersions versions, long walCapacityBytes) throws IOException {
        Properties p = new Properties();
        p.setProperty("walFormatVersion", String.valueOf(versions.wal().iterator().next()));
        p.setProperty("objectFormatVersion", String.valueOf(versions.object().iterator().next()));
        p.setProperty("manifestFormatVersion", String.valueOf(versions.manifest().iterator().next()));
        p.setProperty("walCapacityBytes", String.valueOf(walCapacityBytes));
        p.setProperty("generator", GoldenStoreGenerator.class.getName());
        try (Writer w = Files.newBufferedWriter(dir.resolve(PROPERTIES), StandardCharsets.UTF_8)) {
            p.store(w, "Strata golden store: format versions its files carry; open its WAL with this capacity");
        }
    }
}
