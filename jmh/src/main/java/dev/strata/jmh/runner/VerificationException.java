package dev.strata.jmh.runner;

/** A record read back differs from what was appended (offset, count or bytes), or is missing. */
final class VerificationException extends RuntimeException {
    VerificationException(String message) {
        super(message);
    }
}
