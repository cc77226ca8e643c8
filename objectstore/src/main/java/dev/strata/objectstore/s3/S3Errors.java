package dev.strata.objectstore.s3;

import dev.strata.objectstore.ObjectStorageException;
import dev.strata.objectstore.ObjectStorageException.Kind;
import dev.strata.objectstore.Operation;
import dev.strata.objectstore.Retrier;
import java.io.IOException;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Maps AWS SDK failures to {@link ObjectStorageException} kinds.
 *
 * <pre>
 * HTTP 404 (NoSuchKey, or a HEAD without body)        NOT_FOUND
 * HTTP 412, 409 ConditionalRequestConflict           PRECONDITION_FAILED
 * HTTP 503, 429, code SlowDown/Throttling/...        THROTTLED
 * HTTP 500/502/504, 400 RequestTimeout, InternalError TRANSIENT
 * HTTP 507, XMinioStorageFull (a full server disk)    TRANSIENT, as a full local disk
 * client-side timeouts, I/O errors (reset, refused)  TRANSIENT
 * anything else (403, 400, 416, NoSuchBucket, config) PERMANENT
 * </pre>
 */
final class S3Errors {
    private static final Set<String> THROTTLE_CODES = Set.of("SlowDown", "Throttling", "ThrottlingException",
            "RequestLimitExceeded", "TooManyRequests", "RequestThrottled", "ServiceUnavailable");
    private static final Set<String> TRANSIENT_CODES = Set.of("InternalError", "RequestTimeout", "RequestTimeTooSkewed",
            "OperationAborted", "XMinioStorageFull");

    private S3Errors() {
    }

    static ObjectStorageException translate(Operation op, String key, Throwable error) {
        Throwable t = Retrier.unwrap(error);
        if (t instanceof ObjectStorageException e) {
            return e;
        }
        if (t instanceof S3Exception s3) {
            int status = s3.statusCode();
            String code = s3.awsErrorDetails() == null ? null : s3.awsErrorDetails().errorCode();
            Kind kind = classify(status, code);
            return ObjectStorageException.of(kind, op, key, status,
                    "S3 request failed: code=" + code + " message=" + firstLine(s3.getMessage()), s3);
        }
        if (t instanceof ApiCallAttemptTimeoutException || t instanceof ApiCallTimeoutException
                || hasCause(t, IOException.class) || hasCause(t, TimeoutException.class)) {
            return ObjectStorageException.of(Kind.TRANSIENT, op, key, 0,
                    "S3 request failed in transport: " + firstLine(t.getMessage()), t);
        }
        if (t instanceof SdkClientException && String.valueOf(t.getMessage()).contains("Acquire operation took longer")) {
            return ObjectStorageException.of(Kind.THROTTLED, op, key, 0,
                    "too many requests waiting for a connection: " + firstLine(t.getMessage()), t);
        }
        return ObjectStorageException.of(Kind.PERMANENT, op, key, 0,
                "S3 request failed: " + t.getClass().getSimpleName() + ": " + firstLine(t.getMessage()), t);
    }

    static Kind classify(int status, String code) {
        if (code != null && THROTTLE_CODES.contains(code) || status == 503 || status == 429) {
            return Kind.THROTTLED;
        }
        if (status == 412 || status == 409 && "ConditionalRequestConflict".equals(code)) {
            return Kind.PRECONDITION_FAILED;
        }
        if (status == 404 && (code == null || "NoSuchKey".equals(code) || "NotFound".equals(code))) {
            return Kind.NOT_FOUND;
        }
        if (code != null && TRANSIENT_CODES.contains(code) || status == 500 || status == 502 || status == 504
                || status == 507) {
            return Kind.TRANSIENT;
        }
        return Kind.PERMANENT;
    }

    private static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return true;
            }
            if (c.getCause() == c) {
                break;
            }
        }
        return false;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
