package dev.strata.objectstore;

import java.util.Objects;

/**
 * When a write may take effect. Immutable.
 *
 * <ul>
 *   <li>{@link #none()}: always (last writer wins).</li>
 *   <li>{@link #ifAbsent()}: only if the key does not exist ({@code If-None-Match: *}).</li>
 *   <li>{@link #ifMatch(String)}: only if the key exists and its current ETag equals the given one
 *       ({@code If-Match}); on a missing key this fails with {@link ObjectNotFoundException}, as
 *       S3 does.</li>
 * </ul>
 * Of two racing conditional writes on the same key with the same condition, exactly one succeeds;
 * the other fails with {@link PreconditionFailedException}.
 */
public final class PutCondition {
    private static final PutCondition NONE = new PutCondition(null, false);
    private static final PutCondition IF_ABSENT = new PutCondition(null, true);

    private final String etag;
    private final boolean ifAbsent;

    private PutCondition(String etag, boolean ifAbsent) {
        this.etag = etag;
        this.ifAbsent = ifAbsent;
    }

    public static PutCondition none() {
        return NONE;
    }

    public static PutCondition ifAbsent() {
        return IF_ABSENT;
    }

    /** @throws IllegalArgumentException if {@code etag} is null or empty */
    public static PutCondition ifMatch(String etag) {
        if (etag == null || etag.isEmpty()) {
            throw new IllegalArgumentException("etag must not be empty, got " + etag);
        }
        return new PutCondition(etag, false);
    }

    public boolean isNone() {
        return !ifAbsent && etag == null;
    }

    public boolean isIfAbsent() {
        return ifAbsent;
    }

    /** The ETag an {@link #ifMatch} condition requires, else {@code null}. */
    public String matchEtag() {
        return etag;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PutCondition other && ifAbsent == other.ifAbsent && Objects.equals(etag, other.etag);
    }

    @Override
    public int hashCode() {
        return Objects.hash(etag, ifAbsent);
    }

    @Override
    public String toString() {
        return ifAbsent ? "ifAbsent" : etag == null ? "none" : "ifMatch(" + etag + ")";
    }
}
