package dev.strata.wal;

/**
 * Decoded WAL header (see {@link WalHeaderDescriptor} for the meaning of each field). Immutable.
 */
record WalHeader(int blockSize, long capacity, long sequence, long trimPosition, long generation,
        long generationStart, long nodeEpoch, long closedEnd) {

    /** {@link #closedEnd()} of a generation that is open (or ended in a crash). */
    static final long OPEN = -1;

    /** The next header: sequence + 1, with a new trim position. */
    WalHeader withTrim(long newTrim) {
        return new WalHeader(blockSize, capacity, sequence + 1, newTrim, generation, generationStart, nodeEpoch,
                closedEnd);
    }

    /** The next header for a new open: sequence + 1, generation + 1 starting at {@code start}, open. */
    WalHeader nextGeneration(long start, long newNodeEpoch) {
        return new WalHeader(blockSize, capacity, sequence + 1, trimPosition, generation + 1, start, newNodeEpoch,
                OPEN);
    }

    /** The next header for a clean close: sequence + 1, the log ends at {@code end}. */
    WalHeader closedAt(long end) {
        return new WalHeader(blockSize, capacity, sequence + 1, trimPosition, generation, generationStart, nodeEpoch,
                end);
    }

    /** Slot this header is written to. */
    int slot() {
        return (int) (sequence % WalHeaderDescriptor.SLOTS);
    }
}
