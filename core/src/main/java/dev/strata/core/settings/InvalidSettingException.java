package dev.strata.core.settings;

import java.util.List;

/**
 * A setting out of its range, or two chosen settings that conflict. A programming error (the
 * configuration must change), so an {@link IllegalArgumentException}; the message names every setting
 * involved, the values, and which to change. Immutable.
 */
public final class InvalidSettingException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final List<String> settings;

    private InvalidSettingException(List<String> settings, String message) {
        super(message);
        this.settings = List.copyOf(settings);
    }

    /** One setting with a value out of range: {@code message} names it and the value. */
    public static InvalidSettingException of(String setting, String message) {
        return new InvalidSettingException(List.of(setting), message);
    }

    /** Two settings that cannot hold together; {@code message} names both, their values and the fix. */
    public static InvalidSettingException conflict(String first, String second, String message) {
        return new InvalidSettingException(List.of(first, second), message);
    }

    /** The settings involved, as the builder's methods name them (one, or the two in conflict). */
    public List<String> settings() {
        return settings;
    }
}
