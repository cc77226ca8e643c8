package dev.strata.core.settings;

import dev.strata.wal.WalOptions;
import java.time.Duration;

/**
 * Every setting of a store, by group; each group validated itself, so a {@code StoreSettings} holds
 * only valid values. Conflicts between groups (an upload threshold above half the cache, a batch the
 * WAL cannot write) are {@link StoreSizing}'s to find. Immutable.
 *
 * <p>The canonical constructor throws {@link InvalidSettingException} if a group is null, the timeout is
 * not positive, or a block-device WAL setting ({@code walBackend}, {@code unsafeSkipWalSync}) is set
 * for a WAL given by {@code wal(factory)}, which its factory configures.
 *
 * @param location where the data lives
 * @param wal how the WAL is made
 * @param cache memory for data
 * @param append limits of one append
 * @param upload when data goes to objects
 * @param compaction compaction and garbage collection
 * @param objectStoreOpenTimeout how long opening waits for any one object-store request, positive
 * @param openDespiteLostWalData whether to open when the WAL proves acknowledged data was lost
 */
public record StoreSettings(LocationSettings location, WalSettings wal, CacheSettings cache, AppendSettings append,
        UploadSettings upload, CompactionSettings compaction, Duration objectStoreOpenTimeout,
        boolean openDespiteLostWalData) {
    /** Default bound on each object-store request while opening. */
    public static final Duration DEFAULT_OBJECT_STORE_OPEN_TIMEOUT = Duration.ofSeconds(10);

    public StoreSettings {
        SettingChecks.notNull("location", location);
        SettingChecks.notNull("wal", wal);
        SettingChecks.notNull("cache", cache);
        SettingChecks.notNull("append", append);
        SettingChecks.notNull("upload", upload);
        SettingChecks.notNull("compaction", compaction);
        SettingChecks.positive("objectStoreOpenTimeout", objectStoreOpenTimeout);
        if (location.walGiven() && wal.backend() != WalOptions.Backend.AUTO) {
            throw InvalidSettingException.conflict("walBackend", "wal", "walBackend configures the block-device"
                    + " WAL; a WAL given by wal(factory) is configured by its factory: set one of them");
        }
        if (location.walGiven() && wal.unsafeSkipSync()) {
            throw InvalidSettingException.conflict("unsafeSkipWalSync", "wal", "unsafeSkipWalSync configures the"
                    + " block-device WAL; a WAL given by wal(factory) is configured by its factory: set one of them");
        }
    }
}
