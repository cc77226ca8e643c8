package dev.strata.core.settings;

import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where a store keeps its data: the data directory, the WAL, the object store. Validated on
 * construction: the WAL is the block-device WAL at {@code walPath} or below {@code dataDir}, or one
 * given by {@code Strata.Builder#wal(WalFactory)} (then neither is needed for it); the object store must
 * be given or follow from {@code dataDir}, and is given once (as a URI or as an {@code ObjectStorage}
 * the caller owns). So a store with an object store and a given WAL needs no local directory at all.
 * Immutable.
 *
 * <p>The canonical constructor throws {@link InvalidSettingException} if the WAL is neither given nor
 * set by {@code walPath} or {@code dataDir}, if both {@code walPath} and a given WAL are set, if the
 * object store is neither set nor given by {@code dataDir}, or if both {@code objectStore} and an
 * {@code ObjectStorage} are given.
 *
 * @param dataDir the embedded default's directory: the WAL file and the objects below it
 * @param walPath a block-device WAL's file or device set on its own
 * @param objectStore an object store URI set on its own
 * @param objectStorageGiven whether the caller gives its own {@code ObjectStorage} (then no URI is used)
 * @param walGiven whether the caller gives its own WAL through a {@code WalFactory} (then no WAL file
 *     is used)
 */
public record LocationSettings(Optional<Path> dataDir, Optional<Path> walPath, Optional<URI> objectStore,
        boolean objectStorageGiven, boolean walGiven) {

    /** The WAL file below {@code dataDir} when {@code walPath} is not set. */
    public static final String DEFAULT_WAL_FILE = "wal/strata.wal";
    /** The object directory below {@code dataDir} when no object store is set. */
    public static final String DEFAULT_OBJECT_DIR = "objects";

    public LocationSettings {
        SettingChecks.notNull("dataDir", dataDir);
        SettingChecks.notNull("walPath", walPath);
        SettingChecks.notNull("objectStore", objectStore);
        if (walGiven && walPath.isPresent()) {
            throw InvalidSettingException.conflict("walPath", "wal",
                    "set walPath (the block-device WAL's file or device) or wal(factory) (another WAL), not both");
        }
        if (!walGiven && dataDir.isEmpty() && walPath.isEmpty()) {
            throw InvalidSettingException.of("walPath", "walPath (or dataDir, or wal(factory) for a WAL that needs"
                    + " no local file) must be set");
        }
        if (dataDir.isEmpty() && objectStore.isEmpty() && !objectStorageGiven) {
            throw InvalidSettingException.of("objectStore", "objectStore (or objectStorage, or dataDir) must be set");
        }
        if (objectStore.isPresent() && objectStorageGiven) {
            throw InvalidSettingException.conflict("objectStore", "objectStorage",
                    "set objectStore or objectStorage, not both");
        }
    }

    /**
     * The block-device WAL's file or device: {@code walPath}, else {@code dataDir/wal/strata.wal}; empty
     * when the WAL is given ({@code walGiven}).
     */
    public Optional<Path> walFile() {
        if (walGiven) {
            return Optional.empty();
        }
        return Optional.of(walPath.orElseGet(() -> dataDir.orElseThrow().resolve(DEFAULT_WAL_FILE)));
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
