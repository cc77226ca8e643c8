package dev.strata.cli;

import dev.strata.wal.OwnershipLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The store's own ownership locks, held by {@code fsck --repair} for as long as it looks and
 * deletes: the data directory's {@code strata.lock} and the WAL's {@code <wal>.lock}, the very locks
 * {@code Strata.builder().build()} takes ({@link OwnershipLock}). While they are held no store can
 * open on this data directory or WAL, on this host, and taking them fails with
 * {@link dev.strata.api.StorageInUseException} (naming the holder) while a store has them open.
 * A WAL lock is taken only where the WAL's directory exists (a store that never opened its WAL has
 * nothing to protect there). Not thread-safe; {@link #close()} releases both.
 */
final class RepairLock implements AutoCloseable {
    private final List<OwnershipLock> held;

    private RepairLock(List<OwnershipLock> held) {
        this.held = held;
    }

    /**
     * Takes the locks of the data directory (if not null) and of the WAL (if not null and its directory exists).
     *
     * @throws dev.strata.api.StorageInUseException a store (here or in another process) holds one; nothing is held then
     * @throws IllegalArgumentException neither is given: nothing would prove the store is not open
     */
    static RepairLock take(Path dataDir, Path walPath) {
        if (dataDir == null && walPath == null) {
            throw new IllegalArgumentException("--repair needs --data-dir or --wal-path: the store's lock is what"
                    + " proves it is not open, and an object store alone has none");
        }
        List<OwnershipLock> held = new ArrayList<>();
        try {
            if (dataDir != null) {
                held.add(OwnershipLock.forDirectory(dataDir));
            }
            Path walDir = walPath == null ? null : walPath.toAbsolutePath().getParent();
            if (walDir != null && Files.isDirectory(walDir)) {
                held.add(OwnershipLock.forWal(walPath));
            }
        } catch (RuntimeException e) {
            held.forEach(OwnershipLock::close);
            throw e;
        }
        return new RepairLock(held);
    }

    /** What is held, for output. */
    List<String> targets() {
        return held.stream().map(l -> l.target().toString()).toList();
    }

    @Override
    public void close() {
        held.forEach(OwnershipLock::close);
    }
}
