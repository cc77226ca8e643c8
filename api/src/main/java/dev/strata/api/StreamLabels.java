package dev.strata.api;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Who a stream belongs to and how it is described: an optional <b>tenant</b> and free-form
 * <b>tags</b>, set when the stream is created ({@link StreamOptions}), stored durably with the
 * stream's metadata and listed with it ({@link StreamStore#listStreams}). They never change the
 * stream's data or offsets. Immutable; tags are kept sorted by key.
 *
 * <p>Limits, checked by the constructor (which throws {@link IllegalArgumentException} naming the
 * value): a tenant is 1 to {@value #MAX_NAME_LENGTH} characters of {@code [A-Za-z0-9._-]}; at most
 * {@value #MAX_TAGS} tags, each key 1 to {@value #MAX_NAME_LENGTH} characters of
 * {@code [A-Za-z0-9._/-]}, each value at most {@value #MAX_VALUE_BYTES} bytes of UTF-8 (may be empty).
 *
 * @param tenant the tenant, if the stream has one
 * @param tags the tags (a copy is kept)
 */
public record StreamLabels(Optional<String> tenant, Map<String, String> tags) {
    /** Longest tenant and tag key, in characters. */
    public static final int MAX_NAME_LENGTH = 64;
    /** Most tags per stream. */
    public static final int MAX_TAGS = 16;
    /** Longest tag value, in UTF-8 bytes. */
    public static final int MAX_VALUE_BYTES = 256;

    /** No tenant, no tags. */
    public static final StreamLabels NONE = new StreamLabels(Optional.empty(), Map.of());

    private static final Pattern TENANT = Pattern.compile("[A-Za-z0-9._-]{1," + MAX_NAME_LENGTH + "}");
    private static final Pattern TAG_KEY = Pattern.compile("[A-Za-z0-9._/-]{1," + MAX_NAME_LENGTH + "}");

    public StreamLabels {
        if (tenant == null || tags == null) {
            throw new IllegalArgumentException("tenant and tags must not be null (use Optional.empty() and Map.of())");
        }
        tenant.ifPresent(StreamLabels::checkTenant);
        if (tags.size() > MAX_TAGS) {
            throw new IllegalArgumentException("at most " + MAX_TAGS + " tags per stream, got " + tags.size());
        }
        TreeMap<String, String> sorted = new TreeMap<>();
        tags.forEach((k, v) -> {
            if (k == null || !TAG_KEY.matcher(k).matches()) {
                throw new IllegalArgumentException("tag key must be 1-" + MAX_NAME_LENGTH + " characters of [A-Za-z0-9._/-], got "
                        + (k == null ? "null" : "'" + k + "'"));
            }
            if (v == null || v.getBytes(StandardCharsets.UTF_8).length > MAX_VALUE_BYTES) {
                throw new IllegalArgumentException("tag '" + k + "': value must be at most " + MAX_VALUE_BYTES
                        + " bytes of UTF-8, got " + (v == null ? "null" : v.getBytes(StandardCharsets.UTF_8).length + " bytes"));
            }
            sorted.put(k, v);
        });
        tags = java.util.Collections.unmodifiableMap(sorted);
    }

    /**
     * Checks a tenant name against the rules above.
     *
     * @return {@code tenant}
     * @throws IllegalArgumentException if it breaks them
     */
    public static String checkTenant(String tenant) {
        if (tenant == null || !TENANT.matcher(tenant).matches()) {
            throw new IllegalArgumentException("tenant must be 1-" + MAX_NAME_LENGTH + " characters of [A-Za-z0-9._-], got "
                    + (tenant == null ? "null" : "'" + tenant + "'"));
        }
        return tenant;
    }

    /** Whether these labels carry anything (a tenant or a tag). */
    public boolean isEmpty() {
        return tenant.isEmpty() && tags.isEmpty();
    }

    /** A copy with {@code tenant}. */
    public StreamLabels withTenant(String tenant) {
        return new StreamLabels(Optional.of(checkTenant(tenant)), tags);
    }

    /** A copy with the tag {@code key} set to {@code value} (replacing an earlier value). */
    public StreamLabels withTag(String key, String value) {
        TreeMap<String, String> more = new TreeMap<>(tags);
        more.put(key, value);
        return new StreamLabels(tenant, more);
    }
}
