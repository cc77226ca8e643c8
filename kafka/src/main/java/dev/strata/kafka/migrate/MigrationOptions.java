package dev.strata.kafka.migrate;

/**
 * How {@link KafkaLogMigration#migrate} runs.
 *
 * @param maxCallBytes the most bytes handed to one {@code appendWithOffsets} call (whole batches; a
 *     larger batch goes alone); at least 1
 * @param maxBatches stop after appending this many batches (-1: no limit): a run may be cut into
 *     parts, each continuing where the last stopped
 */
public record MigrationOptions(int maxCallBytes, long maxBatches) {

    /** 1 MiB per call, no batch limit. */
    public static final MigrationOptions DEFAULTS = new MigrationOptions(1 << 20, -1);

    public MigrationOptions {
        if (maxCallBytes < 1 || maxBatches < -1) {
            throw new IllegalArgumentException("maxCallBytes must be >= 1 and maxBatches >= -1, got maxCallBytes="
                    + maxCallBytes + " maxBatches=" + maxBatches);
        }
    }

    public MigrationOptions withMaxBatches(long batches) {
        return new MigrationOptions(maxCallBytes, batches);
    }

    public MigrationOptions withMaxCallBytes(int bytes) {
        return new MigrationOptions(bytes, maxBatches);
    }
}
