package dev.strata.wal.uring;

import java.util.Optional;

/**
 * What every FFM write backend needs from the JVM and the OS before it can bind libc: native access
 * for this module, and Linux. Kept apart from {@link LibC}, whose class initialization binds libc,
 * so that asking does not load it. Stateless; thread-safe.
 */
final class NativePlatform {
    private NativePlatform() {
    }

    /** Why the FFM backends cannot run here (native access, OS), or empty if they can as far as that goes. */
    static Optional<String> unavailableReason() {
        if (!NativePlatform.class.getModule().isNativeAccessEnabled()) {
            return Optional.of("native access not enabled: run with --enable-native-access=ALL-UNNAMED"
                    + " (or Enable-Native-Access: ALL-UNNAMED in an executable jar's manifest)");
        }
        if (!System.getProperty("os.name", "").startsWith("Linux")) {
            return Optional.of("not Linux: os.name=" + System.getProperty("os.name"));
        }
        return Optional.empty();
    }
}
