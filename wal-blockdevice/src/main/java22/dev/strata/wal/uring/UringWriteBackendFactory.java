package dev.strata.wal.uring;

import dev.strata.wal.spi.WriteBackend;
import dev.strata.wal.spi.WriteBackendFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Service provider of the io_uring write backend (registered in
 * {@code META-INF/services/dev.strata.wal.spi.WriteBackendFactory}; loaded by the WAL only on JDK
 * 22+). Public only because {@link java.util.ServiceLoader} needs it; not an API. Thread-safe.
 */
public final class UringWriteBackendFactory implements WriteBackendFactory {

    private static volatile Optional<String> probed;

    /** Called by {@link java.util.ServiceLoader}. */
    public UringWriteBackendFactory() {
    }

    @Override
    public String name() {
        return "io_uring";
    }

    @Override
    public Optional<String> unavailableReason() {
        Optional<String> r = probed;
        if (r == null) {
            r = probe();
            probed = r;
        }
        return r;
    }

    private static Optional<String> probe() {
        Optional<String> platform = NativePlatform.unavailableReason();
        if (platform.isPresent()) {
            return platform;
        }
        Path disabled = Path.of("/proc/sys/kernel/io_uring_disabled");
        try {
            if (Files.exists(disabled) && !Files.readString(disabled).trim().equals("0")) {
                return Optional.of("io_uring disabled by the kernel: " + disabled + "=" + Files.readString(disabled).trim());
            }
        } catch (IOException e) {
            // unreadable: let the setup probe decide
        }
        try (IoUring ring = new IoUring(2)) {
            return Optional.empty();
        } catch (IOException | RuntimeException | LinkageError e) {
            return Optional.of("io_uring_setup probe failed: " + e.getMessage());
        }
    }

    @Override
    public WriteBackend open(Path file, int queueDepth, boolean durable) throws IOException {
        return new UringWriteBackend(file, queueDepth, durable);
    }
}
