package dev.strata.wal;

/**
 * Decoded WAL header (see {@link WalHeaderDescriptor} for the meaning of each field). Immutable.
 */
record WalHeader(int blockSize, long capacity, long sequence, long trimPosition, long generation,
        long generationStart, long nodeEpoch) {

    /** The next header: sequence + 1, with a new trim position. */
    WalHeader withTrim(long newTrim) {
        return new WalHeader(blockSize, capacity, sequence + 1, newTrim, generation, generationStart, nodeEpoch);
    }

    /** The next header for a new open: sequence + 1, generation + 1 starting at {@code start}. */
    WalHeader nextGeneration(long start, long newNodeEpoch) {
        return new WalHeader(blockSize, capacity, sequence + 1, trimPosition, generation + 1, start, newNodeEpoch);
    }

    /** Slot this header is written to. */
    int slot() {
        return (int) (sequence % WalHeaderDescriptor.SLOTS);
    }
}
