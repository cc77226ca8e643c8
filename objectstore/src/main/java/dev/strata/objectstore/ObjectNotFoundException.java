package dev.strata.objectstore;

/** The key does not exist. Not retriable. */
public class ObjectNotFoundException extends ObjectStorageException {
    private static final long serialVersionUID = 1L;

    public ObjectNotFoundException(Operation operation, String key, int httpStatus, String message, Throwable cause) {
        super(Kind.NOT_FOUND, operation, key, httpStatus, message, cause);
    }
}
