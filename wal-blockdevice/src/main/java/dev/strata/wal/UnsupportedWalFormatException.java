package dev.strata.wal;

import dev.strata.api.StorageException;

/**
 * The WAL on the device was written in a format version this build does not read (see
 * {@link WalHeaderDescriptor}). Not retriable: the bytes are intact, but reading them with the
 * wrong layout would misplace records. Nothing was written to the device. Drain the WAL with the
 * release that wrote it (a clean close uploads its data), or delete it if its data is expendable.
 */
public final class UnsupportedWalFormatException extends StorageException {
    private static final long serialVersionUID = 1L;

    private final int foundVersion;
    private final int supportedVersion;

    UnsupportedWalFormatException(String file, int foundVersion, int supportedVersion) {
        super("WAL format version not supported: file=" + file + " version=" + foundVersion + " supported="
                + supportedVersion + " (drain it with the release that wrote it, or delete it)", false);
        this.foundVersion = foundVersion;
        this.supportedVersion = supportedVersion;
    }

    /** The version found in the header slot. */
    public int foundVersion() {
        return foundVersion;
    }

    /** The version this build reads and writes. */
    public int supportedVersion() {
        return supportedVersion;
    }
}
