package dev.strata.objectstore;

import java.nio.charset.StandardCharsets;

/**
 * The object key scheme, and the key rules every {@link ObjectStorage} enforces.
 *
 * <p>Data objects are named {@code <hash>/<type>/<id>}, e.g. {@code 9f3a/sso/00000000000000001234}:
 * <ul>
 *   <li>{@code hash}: 4 lowercase hex digits of a 64-bit mix of the id. S3 partitions a bucket by
 *       key prefix; a prefix that varies with every object spreads uploads and reads across
 *       partitions instead of hammering one (DESIGN: "keys spread by a hash prefix").</li>
 *   <li>{@code type}: {@code sso} (stream-set object) or {@code so} (stream object). Both use the
 *       same file format; the type is in the key so listing tools can tell them apart.</li>
 *   <li>{@code id}: the object id, zero-padded to 20 digits so that keys of one type sort by id.</li>
 * </ul>
 * The hash is a pure function of the id, so {@link #parseObjectId(String)} can check a key.
 * Stateless and thread-safe.
 */
public final class ObjectKeys {

    /** Longest key in UTF-8 bytes (the S3 limit). */
    public static final int MAX_KEY_BYTES = 1024;

    /** The two kinds of data object. */
    public enum ObjectType {
        /** Stream-set object: many streams' data for a time slice. */
        STREAM_SET("sso"),
        /** Stream object: one stream's data for a contiguous offset range. */
        STREAM("so");

        private final String token;

        ObjectType(String token) {
            this.token = token;
        }

        public String token() {
            return token;
        }
    }

    private ObjectKeys() {
    }

    /** The key of data object {@code objectId} of {@code type}. @throws IllegalArgumentException if id &lt; 0 */
    public static String dataObjectKey(ObjectType type, long objectId) {
        if (objectId < 0) {
            throw new IllegalArgumentException("objectId must be >= 0, got " + objectId);
        }
        return hashPrefix(objectId) + "/" + type.token() + "/" + String.format("%020d", objectId);
    }

    /** 4 hex digits derived from {@code objectId} (the first path segment of its key). */
    public static String hashPrefix(long objectId) {
        long z = objectId + 0x9E3779B97F4A7C15L; // splitmix64 finalizer: every input bit moves the prefix
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return String.format("%04x", (int) (z >>> 48));
    }

    /**
     * The object id in a key made by {@link #dataObjectKey}, or {@code -1} if {@code key} is not such
     * a key (wrong shape, unknown type, or a hash prefix that does not match the id).
     */
    public static long parseObjectId(String key) {
        String[] parts = key.split("/", -1);
        if (parts.length != 3 || parts[2].length() != 20) {
            return -1;
        }
        boolean knownType = false;
        for (ObjectType t : ObjectType.values()) {
            knownType |= t.token().equals(parts[1]);
        }
        long id;
        try {
            id = Long.parseLong(parts[2]);
        } catch (NumberFormatException e) {
            return -1;
        }
        return knownType && id >= 0 && hashPrefix(id).equals(parts[0]) ? id : -1;
    }

    /**
     * Checks the rules every storage applies to keys: non-empty, at most {@link #MAX_KEY_BYTES} UTF-8
     * bytes, '/'-separated segments that are non-empty and neither {@code .} nor {@code ..}, no
     * leading '/', no backslash and no NUL.
     *
     * @return {@code key}
     * @throws IllegalArgumentException naming the key and the rule it breaks
     */
    public static String validate(String key) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("object key must not be empty, got " + (key == null ? "null" : "\"\""));
        }
        if (key.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
            throw new IllegalArgumentException("object key longer than " + MAX_KEY_BYTES + " bytes: key=" + key);
        }
        if (key.indexOf('\\') >= 0 || key.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("object key must not contain '\\' or NUL: key=" + key);
        }
        for (String segment : key.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new IllegalArgumentException(
                        "object key segments must be non-empty and not '.' or '..' (no leading, trailing or double '/'): key="
                                + key);
            }
        }
        return key;
    }
}
