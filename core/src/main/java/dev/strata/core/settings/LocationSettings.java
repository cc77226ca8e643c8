package dev.strata.core.settings;

import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where a store keeps its data: the data directory, the WAL, the object store. Validated on
 * construction: the WAL and the object store must each be given or follow from {@code dataDir}, and an
 * object store is given once (as a URI or as an {@code ObjectStorage} the caller owns). Immutable.
 *
 * <p>The canonical constructor throws {@link InvalidSettingException} if the WAL or the object store is
 * neither set nor given by {@code dataDir}, or both {@code objectStore} and an {@code ObjectStorage} are
 * given.
 *
 * @param dataDir the embedded default's directory: the WAL file and the objects below it
 * @param walPath a WAL file or block device set on its own
 * @param objectStore an object store URI set on its own
 * @param objectStorageGiven whether the caller gives its own {@code ObjectStorage} (then no URI is used)
 */
public record LocationSettings(Optional<Path> dataDir, Optional<Path> walPath, Optional<URI> objectStore,
        boolean objectStorageGiven) {

    /** The WAL file below {@code dataDir} when {@code walPath} is not set. */
    public static final String DEFAULT_WAL_FILE = "wal/strata.wal";
    /** The object directory below {@code dataDir} when no object store is set. */
    public static final String DEFAULT_OBJECT_DIR = "objects";

    public LocationSettings {
        SettingChecks.notNull("dataDir", dataDir);
        SettingChecks.notNull("walPath", walPath);
        SettingChecks.notNull("objectStore", objectStore);
        if (dataDir.isEmpty() && walPath.isEmpty()) {
            throw InvalidSettingException.of("walPath", "walPath (or dataDir) must be set");
        }
        if (dataDir.isEmpty() && objectStore.isEmpty() && !objectStorageGiven) {
            throw InvalidSettingException.of("objectStore", "objectStore (or objectStorage, or dataDir) must be set");
        }
        if (objectStore.isPresent() && objectStorageGiven) {
            throw InvalidSettingException.conflict("objectStore", "objectStorage",
                    "set objectStore or objectStorage, not both");
        }
    }

    /** The WAL: {@code walPath}, else {@code dataDir/wal/strata.wal}. */
    public Path walFile() {
        return walPath.orElseGet(() -> dataDir.orElseThrow().resolve(DEFAULT_WAL_FILE));
    }

    /**
     * The object store to open: {@code objectStore}, else {@code dataDir/objects} as a {@code file:} URI;
     * empty when the caller gives its own {@code ObjectStorage}.
     */
    public Optional<URI> objectStoreUri() {
        if (objectStorageGiven) {
            return Optional.empty();
        }
        return Optional.of(objectStore.orElseGet(() -> dataDir.orElseThrow().resolve(DEFAULT_OBJECT_DIR).toUri()));
    }
}
