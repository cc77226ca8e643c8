package dev.strata.core.settings;

import java.time.Duration;

/**
 * The checks of single settings, shared by {@code Strata.Builder}'s setters (which check at once) and
 * the settings records' constructors (which check again, so no record holds an invalid value). Each
 * returns the value it accepted and throws {@link InvalidSettingException} naming the setting and the
 * value. Stateless.
 */
public final class SettingChecks {
    private SettingChecks() {
    }

    /** {@code value} must not be null: "{@code setting} must not be null". */
    public static <T> T notNull(String setting, T value) {
        if (value == null) {
            throw InvalidSettingException.of(setting, setting + " must not be null");
        }
        return value;
    }

    /** {@code value} must be a positive duration. */
    public static Duration positive(String setting, Duration value) {
        if (value == null || value.isNegative() || value.isZero()) {
            throw InvalidSettingException.of(setting, setting + " must be positive, got " + value);
        }
        return value;
    }

    /** {@code value} must be a duration of zero or more. */
    public static Duration nonNegative(String setting, Duration value) {
        if (value == null || value.isNegative()) {
            throw InvalidSettingException.of(setting, setting + " must be >= 0, got " + value);
        }
        return value;
    }

    /** {@code value} must be at least {@code min} ({@code minText} is how the message writes it, e.g. "1 MiB"). */
    public static long atLeast(String setting, long value, long min, String minText) {
        if (value < min) {
            throw InvalidSettingException.of(setting, setting + " must be >= " + minText + ", got " + value);
        }
        return value;
    }

    /** {@code value} must be in {@code [min, max]} ({@code rangeText} is how the message writes the range). */
    public static int inRange(String setting, int value, int min, int max, String rangeText) {
        if (value < min || value > max) {
            throw InvalidSettingException.of(setting, setting + " must be in " + rangeText + ", got " + value);
        }
        return value;
    }
}
