package dev.strata.cli;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * How a command addresses a store, as {@code Strata.builder()} does: {@code --data-dir DIR} (the
 * embedded default: WAL {@code DIR/wal/strata.wal}, objects {@code DIR/objects}), or
 * {@code --object-store URI} ({@code file:} or {@code s3:}) with an optional {@code --wal-path};
 * {@code --object-store} and {@code --wal-path} override the data directory's defaults.
 */
final class StoreOptions {

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--data-dir", paramLabel = "DIR", description = "the store's data directory (WAL and objects under it)")
    Path dataDir;

    @Option(names = "--object-store", paramLabel = "URI",
            description = "the object store: file:///path or s3://bucket/prefix?region=..&endpoint=..")
    URI objectStore;

    @Option(names = "--wal-path", paramLabel = "PATH", description = "the WAL file or block device")
    Path walPath;

    /** The object store's URI. @throws ParameterException if neither --data-dir nor --object-store is set */
    URI objectStoreUri() {
        if (objectStore != null) {
            return objectStore;
        }
        if (dataDir == null) {
            throw new ParameterException(spec.commandLine(), "set --data-dir DIR or --object-store URI");
        }
        return dataDir.resolve("objects").toAbsolutePath().toUri();
    }

    /** The WAL's path, or null if the store's WAL is not given (--object-store without --wal-path). */
    Path wal() {
        if (walPath != null) {
            return walPath;
        }
        return dataDir == null ? null : dataDir.resolve("wal").resolve("strata.wal");
    }

    /**
     * Opens the store for reading (no lock, nothing written).
     *
     * @throws ParameterException if the options do not address a store, or a data directory does not exist
     */
    StoreAccess open() {
        URI uri = objectStoreUri();
        if (dataDir != null && !Files.isDirectory(dataDir)) {
            throw new ParameterException(spec.commandLine(), "--data-dir: not a directory: " + dataDir);
        }
        return StoreAccess.open(uri, wal());
    }
}
