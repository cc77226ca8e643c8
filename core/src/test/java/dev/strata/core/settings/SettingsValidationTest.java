package dev.strata.core.settings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.wal.WalOptions;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** Each settings group refuses what it cannot hold, naming the setting and the value. */
class SettingsValidationTest {

    @Test
    void walCapacityMustBeAMultipleOf4096AndAtLeastTheMinimum() {
        assertInvalid(() -> new WalSettings(OptionalLong.of(WalSettings.MIN_CAPACITY_BYTES + 1), WalOptions.Backend.AUTO,
                false), "walCapacity", "got " + (WalSettings.MIN_CAPACITY_BYTES + 1));
        assertInvalid(() -> new WalSettings(OptionalLong.of(WalSettings.MIN_CAPACITY_BYTES - 4096), WalOptions.Backend.AUTO,
                false), "walCapacity", "multiple of 4096 and >= " + WalSettings.MIN_CAPACITY_BYTES);
        assertInvalid(() -> new WalSettings(OptionalLong.empty(), null, false), "walBackend", "must not be null");
        assertThat(new WalSettings(OptionalLong.of(WalSettings.MIN_CAPACITY_BYTES), WalOptions.Backend.AUTO, false)
                .capacityBytes()).hasValue(WalSettings.MIN_CAPACITY_BYTES);
    }

    @Test
    void cachesNeedAtLeastOneMib() {
        assertInvalid(() -> new CacheSettings(OptionalLong.of((1 << 20) - 1), 1 << 20, 1 << 20), "logCacheBytes",
                "logCacheBytes must be >= 1 MiB, got " + ((1 << 20) - 1));
        assertInvalid(() -> new CacheSettings(OptionalLong.empty(), 0, 1 << 20), "blockCacheBytes", "got 0");
        assertInvalid(() -> new CacheSettings(OptionalLong.empty(), 1 << 20, -1), "maxInFlightReadBytes", "got -1");
        assertThat(new CacheSettings(OptionalLong.of(1 << 20), 1 << 20, 1 << 20).logCacheBytes()).hasValue(1 << 20);
    }

    @Test
    void appendLimitsAreInRange() {
        assertInvalid(() -> new AppendSettings(OptionalInt.of(0), Duration.ZERO), "maxBatchBytes",
                "maxBatchBytes must be in [1, " + AppendSettings.MAX_BATCH_BYTES + "], got 0");
        assertInvalid(() -> new AppendSettings(OptionalInt.of(AppendSettings.MAX_BATCH_BYTES + 1), Duration.ZERO),
                "maxBatchBytes", "got " + (AppendSettings.MAX_BATCH_BYTES + 1));
        assertInvalid(() -> new AppendSettings(OptionalInt.empty(), Duration.ofMillis(-1)), "appendBackpressureWait",
                "appendBackpressureWait must be >= 0, got PT-0.001S");
        assertThat(new AppendSettings(OptionalInt.of(AppendSettings.MAX_BATCH_BYTES), Duration.ZERO).maxBatchBytes())
                .hasValue(AppendSettings.MAX_BATCH_BYTES);
    }

    @Test
    void uploadSettingsAreInRange() {
        UploadSettings d = UploadSettings.defaults();
        assertInvalid(() -> new UploadSettings(OptionalLong.of(0), d.interval(), d.retryBackoff(), d.objectBlockBytes(),
                d.streamObjectThresholdBytes(), d.closeTimeout()), "uploadThresholdBytes", "got 0");
        assertInvalid(() -> new UploadSettings(d.thresholdBytes(), Duration.ZERO, d.retryBackoff(), d.objectBlockBytes(),
                d.streamObjectThresholdBytes(), d.closeTimeout()), "uploadInterval", "must be positive, got PT0S");
        assertInvalid(() -> new UploadSettings(d.thresholdBytes(), d.interval(), null, d.objectBlockBytes(),
                d.streamObjectThresholdBytes(), d.closeTimeout()), "uploadRetryBackoff", "got null");
        assertInvalid(() -> new UploadSettings(d.thresholdBytes(), d.interval(), d.retryBackoff(), 1023,
                d.streamObjectThresholdBytes(), d.closeTimeout()), "objectBlockBytes", "[1 KiB, 64 MiB], got 1023");
        assertInvalid(() -> new UploadSettings(d.thresholdBytes(), d.interval(), d.retryBackoff(), (64 << 20) + 1,
                d.streamObjectThresholdBytes(), d.closeTimeout()), "objectBlockBytes", "got " + ((64 << 20) + 1));
        assertInvalid(() -> new UploadSettings(d.thresholdBytes(), d.interval(), d.retryBackoff(), d.objectBlockBytes(), 0,
                d.closeTimeout()), "streamObjectThresholdBytes", "got 0");
        assertInvalid(() -> new UploadSettings(d.thresholdBytes(), d.interval(), d.retryBackoff(), d.objectBlockBytes(),
                d.streamObjectThresholdBytes(), Duration.ofSeconds(-1)), "closeUploadTimeout", "must be >= 0");
    }

    @Test
    void compactionSettingsAreInRange() {
        CompactionSettings d = CompactionSettings.defaults();
        assertInvalid(() -> new CompactionSettings(Duration.ofSeconds(-1), d.targetObjectBytes(), d.streamSetSplitAge(),
                d.garbageGracePeriod(), d.orphanTtl(), d.bytesPerSecond()), "compactionInterval", "got PT-1S");
        assertInvalid(() -> new CompactionSettings(d.interval(), 0, d.streamSetSplitAge(), d.garbageGracePeriod(),
                d.orphanTtl(), d.bytesPerSecond()), "compactionTargetObjectBytes", "got 0");
        assertInvalid(() -> new CompactionSettings(d.interval(), d.targetObjectBytes(), d.streamSetSplitAge(),
                d.garbageGracePeriod(), d.orphanTtl(), -1), "compactionBytesPerSecond", "got -1");
        assertInvalid(() -> new CompactionSettings(d.interval(), d.targetObjectBytes(), d.streamSetSplitAge(),
                d.garbageGracePeriod(), null, d.bytesPerSecond()), "orphanTtl", "got null");
        assertThat(new CompactionSettings(Duration.ZERO, 1, Duration.ZERO, Duration.ZERO, Duration.ZERO, 0).interval())
                .isZero();
    }

    @Test
    void locationNeedsAWalAndAnObjectStoreOnce() {
        assertInvalid(() -> new LocationSettings(Optional.empty(), Optional.empty(), Optional.empty(), false, false),
                "walPath", "walPath (or dataDir, or wal(factory) for a WAL that needs no local file) must be set");
        assertInvalid(() -> new LocationSettings(Optional.empty(), Optional.of(Path.of("w")), Optional.empty(), false,
                false), "objectStore", "objectStore (or objectStorage, or dataDir) must be set");
        assertThatThrownBy(() -> new LocationSettings(Optional.of(Path.of("d")), Optional.empty(),
                Optional.of(URI.create("file:///x")), true, false))
                .isInstanceOfSatisfying(InvalidSettingException.class,
                        e -> assertThat(e.settings()).containsExactly("objectStore", "objectStorage"))
                .hasMessage("set objectStore or objectStorage, not both");

        LocationSettings embedded = new LocationSettings(Optional.of(Path.of("/data")), Optional.empty(), Optional.empty(),
                false, false);
        assertThat(embedded.walFile()).hasValue(Path.of("/data/wal/strata.wal"));
        assertThat(embedded.objectStoreUri()).hasValue(Path.of("/data/objects").toUri());
        LocationSettings given = new LocationSettings(Optional.empty(), Optional.of(Path.of("/dev/wal")), Optional.empty(),
                true, false);
        assertThat(given.walFile()).hasValue(Path.of("/dev/wal"));
        assertThat(given.objectStoreUri()).isEmpty();
    }

    @Test
    void aGivenWalNeedsNoLocalDirectoryAndExcludesTheBlockDeviceWalsSettings() {
        LocationSettings noDisk = new LocationSettings(Optional.empty(), Optional.empty(),
                Optional.of(URI.create("s3://bucket/prefix")), false, true);
        assertThat(noDisk.walFile()).as("no WAL file with a given WAL").isEmpty();
        assertThat(noDisk.objectStoreUri()).hasValue(URI.create("s3://bucket/prefix"));
        assertThat(new LocationSettings(Optional.of(Path.of("/data")), Optional.empty(), Optional.empty(), false, true)
                .walFile()).isEmpty();
        assertThatThrownBy(() -> new LocationSettings(Optional.empty(), Optional.of(Path.of("/dev/wal")),
                Optional.of(URI.create("file:///x")), false, true))
                .isInstanceOfSatisfying(InvalidSettingException.class,
                        e -> assertThat(e.settings()).containsExactly("walPath", "wal"))
                .hasMessageContaining("not both");
        assertInvalid(() -> new LocationSettings(Optional.empty(), Optional.empty(), Optional.empty(), false, true),
                "objectStore", "objectStore (or objectStorage, or dataDir) must be set");

        assertThatThrownBy(() -> new StoreSettings(noDisk, new WalSettings(OptionalLong.empty(),
                WalOptions.Backend.BUFFERED, false), CacheSettings.defaults(), AppendSettings.defaults(),
                UploadSettings.defaults(), CompactionSettings.defaults(), Duration.ofSeconds(1), false))
                .isInstanceOfSatisfying(InvalidSettingException.class,
                        e -> assertThat(e.settings()).containsExactly("walBackend", "wal"))
                .hasMessageContaining("configured by its factory");
        assertThatThrownBy(() -> new StoreSettings(noDisk, new WalSettings(OptionalLong.empty(), WalOptions.Backend.AUTO,
                true), CacheSettings.defaults(), AppendSettings.defaults(), UploadSettings.defaults(),
                CompactionSettings.defaults(), Duration.ofSeconds(1), false))
                .isInstanceOfSatisfying(InvalidSettingException.class,
                        e -> assertThat(e.settings()).containsExactly("unsafeSkipWalSync", "wal"));
        assertThat(new StoreSettings(noDisk, WalSettings.defaults(), CacheSettings.defaults(), AppendSettings.defaults(),
                UploadSettings.defaults(), CompactionSettings.defaults(), Duration.ofSeconds(1), false).location())
                .isEqualTo(noDisk);
    }

    @Test
    void objectStoreOpenTimeoutMustBePositive() {
        LocationSettings location = new LocationSettings(Optional.of(Path.of("d")), Optional.empty(), Optional.empty(),
                false, false);
        assertInvalid(() -> new StoreSettings(location, WalSettings.defaults(), CacheSettings.defaults(),
                AppendSettings.defaults(), UploadSettings.defaults(), CompactionSettings.defaults(), Duration.ZERO, false),
                "objectStoreOpenTimeout", "must be positive, got PT0S");
    }

    private static void assertInvalid(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String setting,
            String messagePart) {
        assertThatThrownBy(call)
                .isInstanceOfSatisfying(InvalidSettingException.class, e -> assertThat(e.settings()).containsExactly(setting))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(setting)
                .hasMessageContaining(messagePart);
    }
}
