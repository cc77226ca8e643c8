package dev.strata.api;

/**
 * The outcome of a successful append: the batch is durable and occupies the offsets
 * {@code [baseOffset, baseOffset + count)}.
 *
 * @param baseOffset offset of the batch's first record
 */
public record AppendResult(long baseOffset) {
    public AppendResult {
        if (baseOffset < 0) {
            throw new IllegalArgumentException("baseOffset must be >= 0, got " + baseOffset);
        }
    }
}
