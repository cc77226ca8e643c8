package dev.strata.core.settings;

import java.util.OptionalLong;

/**
 * Memory for data: the LogCache (recent appends and what awaits upload), the BlockCache (object blocks
 * for catch-up reads) and the bound on object reads in flight. Validated on construction. Immutable.
 *
 * <p>The canonical constructor throws {@link InvalidSettingException} if a size is under 1 MiB.
 *
 * @param logCacheBytes the LogCache as the user set it (at least 1 MiB); empty: derived by {@link StoreSizing}
 * @param blockCacheBytes the BlockCache, at least 1 MiB
 * @param maxInFlightReadBytes bytes being read from objects at once, at least 1 MiB
 */
public record CacheSettings(OptionalLong logCacheBytes, long blockCacheBytes, long maxInFlightReadBytes) {
    /** Default LogCache size: recent data for tailing readers plus what awaits upload. */
    public static final long DEFAULT_LOG_CACHE_BYTES = 256L << 20;
    /** Default BlockCache size for catch-up readers. */
    public static final long DEFAULT_BLOCK_CACHE_BYTES = 256L << 20;
    /** Default bound on bytes being read from objects at once (catch-up reads). */
    public static final long DEFAULT_MAX_IN_FLIGHT_READ_BYTES = 64L << 20;
    /** Smallest size of each: below 1 MiB a cache holds less than one default batch. */
    public static final long MIN_BYTES = 1L << 20;

    public CacheSettings {
        SettingChecks.notNull("logCacheBytes", logCacheBytes).ifPresent(b -> check("logCacheBytes", b));
        check("blockCacheBytes", blockCacheBytes);
        check("maxInFlightReadBytes", maxInFlightReadBytes);
    }

    /** The defaults: LogCache derived, the other two at their defaults. */
    public static CacheSettings defaults() {
        return new CacheSettings(OptionalLong.empty(), DEFAULT_BLOCK_CACHE_BYTES, DEFAULT_MAX_IN_FLIGHT_READ_BYTES);
    }

    /** Checks one of the three sizes (named by {@code setting}): at least {@link #MIN_BYTES}. */
    public static long check(String setting, long bytes) {
        return SettingChecks.atLeast(setting, bytes, MIN_BYTES, "1 MiB");
    }
}
