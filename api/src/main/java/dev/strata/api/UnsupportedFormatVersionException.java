package dev.strata.api;

/**
 * Stored bytes are intact (magic and checksum match) but carry a format version this build does
 * not read: most likely they were written by a newer release. Strata never reinterprets them with
 * another layout and never rewrites or deletes them: the open or read that found them fails, and
 * whatever holds them stays as it was. Roll forward to a release that reads the version (see
 * docs/operations.md, "Upgrades and rollback").
 *
 * <p>A subclass of {@link CorruptDataException} so that every component that stops on unreadable
 * bytes (the store's open, compaction, which leaves such objects alone, the {@code strata verify}
 * tool) stops on these too; catch this type first to tell "newer" from "damaged". Not retriable.
 * The WAL has its own equivalent, {@code dev.strata.wal.UnsupportedWalFormatException}.
 */
public class UnsupportedFormatVersionException extends CorruptDataException {
    private static final long serialVersionUID = 1L;

    private final String format;
    private final String location;
    private final int foundVersion;
    private final String supportedVersions;

    /**
     * @param format what was read: {@code "object"}, {@code "manifest"}, ...
     * @param location where: an object key, with a position where useful
     * @param foundVersion the version in the bytes
     * @param supportedVersions the versions this build reads, e.g. {@code "1"} or {@code "2-3"}
     */
    public UnsupportedFormatVersionException(String format, String location, int foundVersion,
            String supportedVersions) {
        super(format + " format version not supported: " + location + " version=" + foundVersion
                + " supported=" + supportedVersions + " (written by a newer release? nothing was changed; roll"
                + " forward to a release that reads it)");
        this.format = format;
        this.location = location;
        this.foundVersion = foundVersion;
        this.supportedVersions = supportedVersions;
    }

    /** What was read: {@code "object"}, {@code "manifest"}, ... */
    public String format() {
        return format;
    }

    /** Where the bytes are (an object key, a position). */
    public String location() {
        return location;
    }

    /** The version found in the bytes. */
    public int foundVersion() {
        return foundVersion;
    }

    /** The versions this build reads, e.g. {@code "1"} or {@code "2-3"}. */
    public String supportedVersions() {
        return supportedVersions;
    }
}
