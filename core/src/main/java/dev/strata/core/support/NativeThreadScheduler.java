package dev.strata.core.support;

import dev.strata.core.CpuPriority;

/**
 * Service interface: sets the calling thread's CPU priority through the operating system. Its only
 * implementation ({@code dev.strata.core.os.LinuxThreadScheduler}) is compiled for JDK 22 (FFM) and
 * found with {@link java.util.ServiceLoader} only when {@code Runtime.version().feature() >= 22}, so
 * JDK 17 never loads it (the pattern of the WAL's io_uring backend). Implementations are
 * thread-safe.
 */
public interface NativeThreadScheduler {
    /**
     * Null if this JVM can set priorities, or why not (no native access, not Linux, libc without
     * the calls), for a log line.
     */
    String unavailableReason();

    /**
     * Sets the calling thread's priority.
     *
     * @return 0 on success, else the errno the kernel returned
     */
    int apply(CpuPriority priority);
}
