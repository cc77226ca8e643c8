package dev.strata.wal.spi;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Creates a {@link WriteBackend} that needs a newer JDK than the library baseline (the io_uring
 * backend, JDK 22+). Found with {@link java.util.ServiceLoader}, which the WAL consults only when
 * {@code Runtime.version().feature() >= 22}; on older JDKs the provider class is never loaded.
 * Internal service interface, not an API for users.
 */
public interface WriteBackendFactory {

    /** Backend name, e.g. {@code "io_uring"}. */
    String name();

    /**
     * Why this backend cannot run here (kernel, JDK, native access disabled), or empty if it can.
     * Cheap and without side effects that outlive the call.
     */
    Optional<String> unavailableReason();

    /**
     * Opens {@code file} (which exists and is preallocated) for O_DIRECT writes.
     *
     * @param queueDepth writes in flight at most
     * @param durable whether each write must be stable before it completes ({@code RWF_DSYNC})
     */
    WriteBackend open(Path file, int queueDepth, boolean durable) throws IOException;
}
