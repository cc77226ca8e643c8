package dev.strata.objectstore;

import dev.strata.api.StorageException;

/**
 * An object-store request failed. {@link #kind()} says what the caller should do about it;
 * {@link #isRetriable()} is true exactly for {@link Kind#THROTTLED} and {@link Kind#TRANSIENT}.
 * The message is {@code what failed: key=value ...} and names the operation, the key and, for HTTP
 * backends, the status and error code. Callers that branch on meaning catch the subclasses
 * {@link ObjectNotFoundException} and {@link PreconditionFailedException}.
 */
public class ObjectStorageException extends StorageException {
    private static final long serialVersionUID = 1L;

    /** Classification of a failure by what the caller should do. */
    public enum Kind {
        /** The key does not exist (HTTP 404). Not retriable. */
        NOT_FOUND(false),
        /** A conditional write lost: the key exists (If-None-Match) or its ETag changed (If-Match); HTTP 412/409. */
        PRECONDITION_FAILED(false),
        /** The store asked us to slow down (HTTP 503 SlowDown, 429). Retriable after backoff. */
        THROTTLED(true),
        /** Timeouts, connection resets, HTTP 500/502/504/507, local I/O hiccups, a full local disk. Retriable. */
        TRANSIENT(true),
        /** Anything else (403, 400, bad configuration, access denied...): retrying will not help. */
        PERMANENT(false);

        private final boolean retriable;

        Kind(boolean retriable) {
            this.retriable = retriable;
        }

        public boolean retriable() {
            return retriable;
        }
    }

    private final Kind kind;
    private final Operation operation;
    private final String key;
    private final int httpStatus;

    /**
     * @param httpStatus the HTTP status, or {@code 0} if the failure did not come from an HTTP response
     */
    public ObjectStorageException(Kind kind, Operation operation, String key, int httpStatus, String message,
                                  Throwable cause) {
        super(message + ": kind=" + kind + " operation=" + operation + " key=" + key
                + (httpStatus > 0 ? " status=" + httpStatus : ""), kind.retriable(), cause);
        this.kind = kind;
        this.operation = operation;
        this.key = key;
        this.httpStatus = httpStatus;
    }

    /** Builds the subclass that matches {@code kind}. */
    public static ObjectStorageException of(Kind kind, Operation operation, String key, int httpStatus,
                                            String message, Throwable cause) {
        return switch (kind) {
            case NOT_FOUND -> new ObjectNotFoundException(operation, key, httpStatus, message, cause);
            case PRECONDITION_FAILED -> new PreconditionFailedException(operation, key, httpStatus, message, cause);
            default -> new ObjectStorageException(kind, operation, key, httpStatus, message, cause);
        };
    }

    public Kind kind() {
        return kind;
    }

    public Operation operation() {
        return operation;
    }

    /** The object key (without the storage's own prefix), or {@code null} for multi-key requests. */
    public String key() {
        return key;
    }

    /** HTTP status of the failed response, {@code 0} when there was none (timeouts, local I/O). */
    public int httpStatus() {
        return httpStatus;
    }
}
