package dev.strata.wal;

import java.nio.file.Path;

/**
 * A process that opens a WAL (or, with {@code prealloc}, starts creating one) for
 * {@link WalOwnershipTest} and {@link WalPreallocationTest}, which kill it with SIGKILL.
 * Args: {@code walPath capacityBytes}. Prints {@code READY pid} once the WAL is open, then waits
 * for its stdin to close.
 */
public final class WalHolderChild {
    public static void main(String[] args) throws Exception {
        Path path = Path.of(args[0]);
        long capacity = Long.parseLong(args[1]);
        try (BlockDeviceWal wal = BlockDeviceWal.open(WalOptions.builder(path).capacityBytes(capacity).build())) {
            WalTesting.append(wal, WalTesting.bytes(1, 100));
            System.out.println("READY " + ProcessHandle.current().pid());
            System.out.flush();
            while (System.in.read() >= 0) {
                // hold the WAL until the parent closes stdin or kills this process
            }
        }
    }

    static Process start(Path wal, long capacity) throws java.io.IOException {
        return new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-Xmx128m", "-cp",
                System.getProperty("java.class.path"), WalHolderChild.class.getName(), wal.toString(),
                Long.toString(capacity))
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
    }
}
