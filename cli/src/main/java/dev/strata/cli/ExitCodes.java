package dev.strata.cli;

/** The exit codes of every command, which scripts can rely on. */
final class ExitCodes {
    /** Done; nothing wrong found. */
    static final int OK = 0;
    /** Done; problems found (each printed with its key and offsets). */
    static final int PROBLEMS = 1;
    /** Bad arguments, or the store, WAL or object could not be reached or read. */
    static final int USAGE_OR_ACCESS = 2;

    private ExitCodes() {
    }
}
