package dev.strata.api;

import java.util.Map;

/**
 * Settings for {@link StreamStore#createStream}. Immutable; start from {@link #defaults()}.
 *
 * @param epoch the epoch of the creating holder, at least 0 (default 0)
 * @param labels the stream's tenant and tags, stored with it and listed by
 *     {@link StreamStore#listStreams} (default {@link StreamLabels#NONE})
 */
public record StreamOptions(long epoch, StreamLabels labels) {
    public StreamOptions {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
        }
        if (labels == null) {
            throw new IllegalArgumentException("labels must not be null (use StreamLabels.NONE)");
        }
    }

    /** A stream at {@code epoch}, without tenant or tags. */
    public StreamOptions(long epoch) {
        this(epoch, StreamLabels.NONE);
    }

    /** Epoch 0, no tenant, no tags. */
    public static StreamOptions defaults() {
        return new StreamOptions(0L);
    }

    /**
     * A copy with the given epoch.
     *
     * @throws IllegalArgumentException if {@code epoch < 0}
     */
    public StreamOptions withEpoch(long epoch) {
        return new StreamOptions(epoch, labels);
    }

    /**
     * A copy with the stream's tenant.
     *
     * @throws IllegalArgumentException if {@code tenant} breaks {@link StreamLabels}' rules
     */
    public StreamOptions withTenant(String tenant) {
        return new StreamOptions(epoch, labels.withTenant(tenant));
    }

    /**
     * A copy with the tag {@code key} set to {@code value}.
     *
     * @throws IllegalArgumentException if the tag breaks {@link StreamLabels}' rules
     */
    public StreamOptions withTag(String key, String value) {
        return new StreamOptions(epoch, labels.withTag(key, value));
    }

    /**
     * A copy with these tags (replacing any set before).
     *
     * @throws IllegalArgumentException if a tag breaks {@link StreamLabels}' rules
     */
    public StreamOptions withTags(Map<String, String> tags) {
        return new StreamOptions(epoch, new StreamLabels(labels.tenant(), tags));
    }
}
