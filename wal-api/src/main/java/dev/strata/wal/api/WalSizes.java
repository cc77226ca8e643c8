package dev.strata.wal.api;

/**
 * The sizes a store computed for its WAL (from its settings: the largest batch, the upload
 * threshold, the memory it was given), handed to a {@link WalFactory}. Immutable.
 *
 * <p>The canonical constructor throws {@link IllegalArgumentException} if a size is not positive.
 *
 * @param capacityBytes bytes of log the store plans to hold untrimmed at most (at least twice the
 *     upload threshold): the block-device WAL's ring size, an object-store WAL's bound on bytes not
 *     yet trimmed
 * @param maxRecordBytes largest record body the store will append (its largest batch, encoded): the
 *     opened WAL's {@link WriteAheadLog#maxRecordBytes()} must be at least this
 * @param writeBufferBytes size of one write buffer the store budgets memory for (the block-device
 *     WAL's group-commit buffer); an implementation without such buffers may ignore it
 */
public record WalSizes(long capacityBytes, int maxRecordBytes, int writeBufferBytes) {
    public WalSizes {
        if (capacityBytes <= 0 || maxRecordBytes <= 0 || writeBufferBytes <= 0) {
            throw new IllegalArgumentException("WAL sizes must be positive: capacityBytes=" + capacityBytes
                    + " maxRecordBytes=" + maxRecordBytes + " writeBufferBytes=" + writeBufferBytes);
        }
    }
}
