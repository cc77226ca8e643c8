package dev.strata.core.settings;

import dev.strata.wal.WalOptions;
import java.util.OptionalLong;

/**
 * How the WAL is made. Validated on construction. Immutable.
 *
 * <p>The canonical constructor throws {@link InvalidSettingException} if the capacity is out of range or the backend is null.
 *
 * @param capacityBytes the WAL file's size as the user set it (a multiple of 4096, at least
 *     {@link #MIN_CAPACITY_BYTES}); empty: derived by {@link StoreSizing}
 * @param backend the I/O backend
 * @param unsafeSkipSync benchmarks only: acknowledge without syncing
 * @param callerWritesWhenIdle an append that finds the WAL idle writes itself on the appending thread
 *     ({@link WalOptions.Builder#callerWritesWhenIdle})
 */
public record WalSettings(OptionalLong capacityBytes, WalOptions.Backend backend, boolean unsafeSkipSync,
        boolean callerWritesWhenIdle) {
    /** Default WAL size: 1 GiB holds minutes of data at typical rates until it reaches objects. */
    public static final long DEFAULT_CAPACITY_BYTES = 1L << 30;
    /** Smallest WAL: room for four of the smallest WAL writes (256 KiB). */
    public static final long MIN_CAPACITY_BYTES = 1L << 20;

    public WalSettings {
        SettingChecks.notNull("walCapacity", capacityBytes).ifPresent(WalSettings::checkCapacity);
        SettingChecks.notNull("walBackend", backend);
    }

    /** Settings with {@code callerWritesWhenIdle} on (the default). */
    public WalSettings(OptionalLong capacityBytes, WalOptions.Backend backend, boolean unsafeSkipSync) {
        this(capacityBytes, backend, unsafeSkipSync, true);
    }

    /** The defaults: capacity derived, backend AUTO, syncing, idle appends written by their caller. */
    public static WalSettings defaults() {
        return new WalSettings(OptionalLong.empty(), WalOptions.Backend.AUTO, false, true);
    }

    /** Checks a {@code walCapacity}: a multiple of 4096, at least {@link #MIN_CAPACITY_BYTES}. */
    public static long checkCapacity(long bytes) {
        if (bytes < MIN_CAPACITY_BYTES || bytes % 4096 != 0) {
            throw InvalidSettingException.of("walCapacity", "walCapacity must be a multiple of 4096 and >= "
                    + MIN_CAPACITY_BYTES + ", got " + bytes);
        }
        return bytes;
    }
}
