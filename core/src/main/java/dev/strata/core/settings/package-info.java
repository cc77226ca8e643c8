/**
 * Owns: the store's settings as validated values, grouped by what they configure
 * ({@link dev.strata.core.settings.LocationSettings where}, {@link dev.strata.core.settings.WalSettings WAL},
 * {@link dev.strata.core.settings.CacheSettings caches}, {@link dev.strata.core.settings.AppendSettings appends},
 * {@link dev.strata.core.settings.UploadSettings uploads}, {@link dev.strata.core.settings.CompactionSettings
 * compaction}, together {@link dev.strata.core.settings.StoreSettings}), and the sizing policy
 * ({@link dev.strata.core.settings.StoreSizing}): a pure function from settings to the sizes the store runs
 * with ({@link dev.strata.core.settings.StoreSizes}), its {@link dev.strata.core.MemoryLimits} included.
 *
 * <p>Does not own: components or I/O. Nothing here opens a file, starts a thread or touches the object
 * store; {@code dev.strata.core.Strata.Builder} collects the settings and {@code StoreOpener} opens a store
 * from them. Every type is immutable and thread-safe.
 *
 * <p>Failure: a value out of range, or a conflict between two settings the user chose, fails with
 * {@link dev.strata.core.settings.InvalidSettingException} (an {@link IllegalArgumentException}) whose
 * message names the setting(s), the value(s) and which one to change.
 *
 * <p>Internal: public only so that {@code dev.strata.core} can use it; not part of the API (use
 * {@code Strata.Builder}).
 */
package dev.strata.core.settings;
