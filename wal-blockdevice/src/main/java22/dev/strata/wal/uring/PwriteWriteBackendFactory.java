package dev.strata.wal.uring;

import dev.strata.wal.spi.WriteBackend;
import dev.strata.wal.spi.WriteBackendFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Service provider of the {@code pwritev2} write backend ({@link PwriteWriteBackend}; registered in
 * {@code META-INF/services/dev.strata.wal.spi.WriteBackendFactory}; loaded by the WAL only on JDK
 * 22+). Public only because {@link java.util.ServiceLoader} needs it; not an API. Thread-safe.
 */
public final class PwriteWriteBackendFactory implements WriteBackendFactory {

    /** Called by {@link java.util.ServiceLoader}. */
    public PwriteWriteBackendFactory() {
    }

    @Override
    public String name() {
        return "pwritev2";
    }

    @Override
    public Optional<String> unavailableReason() {
        Optional<String> platform = NativePlatform.unavailableReason();
        if (platform.isPresent()) {
            return platform;
        }
        try {
            return LibC.hasPwritev2() ? Optional.empty() : Optional.of("pwritev2 not in this libc (glibc 2.26+ has it)");
        } catch (RuntimeException | LinkageError e) {
            return Optional.of("libc lookup failed: " + e);
        }
    }

    @Override
    public WriteBackend open(Path file, int queueDepth, boolean durable) throws IOException {
        return new PwriteWriteBackend(file, queueDepth, durable);
    }
}
