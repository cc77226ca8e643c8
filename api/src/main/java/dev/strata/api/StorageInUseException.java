package dev.strata.api;

/**
 * The storage a store was asked to open (its WAL file or device, or its data directory) is already
 * open, by another store in this process or by another process. The message names the path and the
 * holder (process id, host, and when it took it, where known). Nothing was changed.
 *
 * <p>Retriable: the open succeeds once the holder has closed or exited (a restart that races the
 * old process's exit, for instance). Taking over storage from a process that is still running is
 * never possible: that is what this exception protects.
 */
public class StorageInUseException extends StorageException {
    private static final long serialVersionUID = 1L;

    private final String path;

    public StorageInUseException(String path, String message) {
        super(message, true);
        this.path = path;
    }

    /** The path that is held (a WAL file or device, or a data directory). */
    public String path() {
        return path;
    }
}
