package dev.strata.api;

/**
 * Stored bytes failed a check (checksum, magic, bounds). Strata never returns the bad bytes; the
 * message names where they were (file or object key, position) and, for checksums, the stored and
 * computed values.
 */
public class CorruptDataException extends StrataException {
    private static final long serialVersionUID = 1L;

    public CorruptDataException(String message) {
        super(message);
    }

    public CorruptDataException(String message, Throwable cause) {
        super(message, cause);
    }
}
