package dev.strata.api;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Which streams {@link StreamStore#listStreams} lists: those of a tenant (if one is given) that carry
 * every given tag with the given value. {@link #all()} lists every stream. Immutable.
 *
 * @param tenant only streams of this tenant, if present
 * @param tags only streams carrying each of these tags with exactly this value
 */
public record StreamFilter(Optional<String> tenant, Map<String, String> tags) {
    private static final StreamFilter ALL = new StreamFilter(Optional.empty(), Map.of());

    public StreamFilter {
        if (tenant == null || tags == null) {
            throw new IllegalArgumentException("tenant and tags must not be null (use Optional.empty() and Map.of())");
        }
        tenant.ifPresent(StreamLabels::checkTenant);
        tags = Map.copyOf(tags);
    }

    /** Every stream. */
    public static StreamFilter all() {
        return ALL;
    }

    /** The streams of {@code tenant}. */
    public static StreamFilter tenant(String tenant) {
        return new StreamFilter(Optional.of(tenant), Map.of());
    }

    /** A copy that also requires the tag {@code key} with {@code value}. */
    public StreamFilter withTag(String key, String value) {
        TreeMap<String, String> more = new TreeMap<>(tags);
        more.put(key, value);
        return new StreamFilter(tenant, more);
    }

    /** Whether a stream with {@code labels} is listed. */
    public boolean matches(StreamLabels labels) {
        if (tenant.isPresent() && !tenant.equals(labels.tenant())) {
            return false;
        }
        for (Map.Entry<String, String> e : tags.entrySet()) {
            if (!e.getValue().equals(labels.tags().get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }
}
