package dev.strata.kafka.migrate;

/**
 * What one run of {@link KafkaLogMigration#migrate} did.
 *
 * @param batches Kafka batches appended by this run (control batches included)
 * @param records records in them (each batch's record count; a control batch counts its marker)
 * @param bytes their size in bytes (stored byte for byte)
 * @param firstOffset the first appended batch's base offset, or -1 if none was appended
 * @param lastOffset the last appended batch's last offset, or -1 if none was appended
 * @param resumedAt the target's log end offset before the run: source batches below it were already
 *     there (an earlier run) and were not appended again
 * @param logStartOffset the target's log start offset afterwards
 * @param logEndOffset the target's log end offset afterwards
 * @param complete whether every source batch is in the target and its log start and end offsets are
 *     the source's; false when the run stopped early ({@link MigrationOptions#maxBatches()})
 */
public record MigrationSummary(long batches, long records, long bytes, long firstOffset, long lastOffset,
                               long resumedAt, long logStartOffset, long logEndOffset, boolean complete) {

    @Override
    public String toString() {
        return "migrated " + batches + " batches, " + records + " records, " + bytes + " bytes"
                + (batches > 0 ? ", offsets " + firstOffset + ".." + lastOffset : "")
                + (resumedAt > 0 ? "; continued at offset " + resumedAt : "") + "; target log [" + logStartOffset + ", " + logEndOffset + ")"
                + (complete ? ", complete" : ", INCOMPLETE (run again to continue)");
    }
}
