package dev.strata.objectstore;

/**
 * A conditional write lost: {@link PutCondition#ifAbsent()} on a key that exists, or
 * {@link PutCondition#ifMatch(String)} with an ETag that is no longer current. Nothing was written.
 * Not retriable: the caller must re-read and decide (the manifest writer treats it as being fenced).
 */
public class PreconditionFailedException extends ObjectStorageException {
    private static final long serialVersionUID = 1L;

    public PreconditionFailedException(Operation operation, String key, int httpStatus, String message,
                                       Throwable cause) {
        super(Kind.PRECONDITION_FAILED, operation, key, httpStatus, message, cause);
    }
}
