package dev.strata.core;

/**
 * What one compaction and garbage-collection cycle did ({@link DurableStreamStore#compact()}).
 *
 * @param tasksRun compaction tasks committed (each one atomic replace of objects)
 * @param tasksFailed tasks that failed (their outputs are orphans; inputs stay; retried next cycle)
 * @param objectsReplaced input objects removed from the metadata by committed tasks
 * @param objectsWritten output objects committed
 * @param bytesRead bytes of input data blocks read
 * @param bytesWritten bytes of output objects written
 * @param objectsDeleted objects deleted from the object store: replaced ones whose grace period
 *     ended, and orphans
 * @param orphansDeleted of {@code objectsDeleted}, orphans (found by listing, never committed)
 * @param durationNanos how long the cycle took
 */
public record CompactionReport(int tasksRun, int tasksFailed, int objectsReplaced, int objectsWritten, long bytesRead,
        long bytesWritten, int objectsDeleted, int orphansDeleted, long durationNanos) {
}
