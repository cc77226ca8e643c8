package dev.strata.api;

/**
 * Settings for {@link StreamStore#createStream}. Immutable; start from {@link #defaults()}.
 *
 * @param epoch the epoch of the creating holder, at least 0 (default 0)
 */
public record StreamOptions(long epoch) {
    public StreamOptions {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        }
    }

    /** Epoch 0. */
    public static StreamOptions defaults() {
        return new StreamOptions(0L);
    }

    /**
     * A copy with the given epoch.
     *
     * @throws IllegalArgumentException if {@code epoch < 0}
     */
    public StreamOptions withEpoch(long epoch) {
        return new StreamOptions(epoch);
    }
}
