package dev.strata.kafka.migrate;

import java.util.List;

/**
 * The result of {@link MigrationVerifier#verify}: the source's readable batches (those whose last
 * offset is at or above its log start offset) and how many differed from the target.
 *
 * @param batches source batches compared
 * @param records records in them
 * @param bytes their size in bytes
 * @param firstOffset the first compared batch's base offset, or -1 if none
 * @param lastOffset the last compared batch's last offset, or -1 if none
 * @param logStartOffset the source's log start offset
 * @param logEndOffset the source's log end offset
 * @param differences how many differences were found (offsets, bytes, missing or extra batches,
 *     log start or end offset)
 * @param examples the first {@value MigrationVerifier#MAX_EXAMPLES} differences, described
 */
public record VerificationReport(long batches, long records, long bytes, long firstOffset, long lastOffset,
                                 long logStartOffset, long logEndOffset, long differences, List<String> examples) {

    public VerificationReport {
        examples = List.copyOf(examples);
    }

    /** Whether source and target hold the same batches at the same offsets, and the same log start and end offsets. */
    public boolean ok() {
        return differences == 0;
    }

    @Override
    public String toString() {
        return (ok() ? "verified: " : "verification FAILED: " + differences + " differences " + examples + "; ")
                + batches + " batches, " + records + " records, " + bytes + " bytes"
                + (batches > 0 ? ", offsets " + firstOffset + ".." + lastOffset : "")
                + "; log [" + logStartOffset + ", " + logEndOffset + ")";
    }
}
