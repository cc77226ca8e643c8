package dev.strata.wal;

/** Alignment arithmetic for power-of-two block sizes. */
final class WalMath {
    private WalMath() {
    }

    static long alignUp(long value, long blockSize) {
        return (value + blockSize - 1) & -blockSize;
    }

    static long alignDown(long value, long blockSize) {
        return value & -blockSize;
    }

    static boolean isPowerOfTwo(long value) {
        return value > 0 && (value & (value - 1)) == 0;
    }
}
