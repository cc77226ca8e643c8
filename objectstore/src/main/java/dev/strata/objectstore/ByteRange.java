package dev.strata.objectstore;

/**
 * A byte range to read: {@link #of(long, long)} ({@code length} bytes from {@code position}, clamped
 * at the end of the object like an HTTP range), {@link #suffix(long)} (the last {@code length}
 * bytes, or the whole object if it is shorter) or {@link #all()}. Immutable.
 */
public final class ByteRange {
    private static final ByteRange ALL = new ByteRange(0, -1, false);

    private final long position;
    private final long length; // -1: to the end
    private final boolean suffix;

    private ByteRange(long position, long length, boolean suffix) {
        this.position = position;
        this.length = length;
        this.suffix = suffix;
    }

    /** @throws IllegalArgumentException if {@code position < 0} or {@code length < 1} */
    public static ByteRange of(long position, long length) {
        if (position < 0 || length < 1) {
            throw new IllegalArgumentException("range needs position >= 0 and length >= 1, got position="
                    + position + " length=" + length);
        }
        return new ByteRange(position, length, false);
    }

    /** @throws IllegalArgumentException if {@code length < 1} */
    public static ByteRange suffix(long length) {
        if (length < 1) {
            throw new IllegalArgumentException("suffix length must be >= 1, got " + length);
        }
        return new ByteRange(-1, length, true);
    }

    public static ByteRange all() {
        return ALL;
    }

    public boolean isSuffix() {
        return suffix;
    }

    public boolean isAll() {
        return this == ALL;
    }

    /** First byte for a positional range; {@code -1} for a suffix range. */
    public long position() {
        return position;
    }

    /** Requested length; {@code -1} for {@link #all()}. */
    public long length() {
        return length;
    }

    /** The HTTP {@code Range} header value, or {@code null} for the whole object. */
    public String toHttpHeader() {
        if (isAll()) {
            return null;
        }
        if (suffix) {
            return "bytes=-" + length;
        }
        return "bytes=" + position + "-" + (position + length - 1);
    }

    @Override
    public String toString() {
        return isAll() ? "all" : suffix ? "suffix(" + length + ")" : "[" + position + "+" + length + ")";
    }
}
