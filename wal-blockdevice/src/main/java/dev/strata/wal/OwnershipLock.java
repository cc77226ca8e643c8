package dev.strata.wal;

import dev.strata.api.StorageException;
import dev.strata.api.StorageInUseException;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Exclusive ownership of a WAL (a file or a block device) or of a store's data directory by one
 * open store at a time: across the threads of this process and across the processes of this host.
 * A second {@code forWal}/{@code forDirectory} of the same target fails with
 * {@link StorageInUseException} naming the holder, and changes nothing.
 *
 * <p>How:
 * <ul>
 *   <li><b>In this process</b>: a registry of held targets by real path, checked before any file
 *       descriptor of the target is opened. POSIX record locks belong to the process, and closing any
 *       descriptor of a file releases all of the process's locks on it, so a second opener in this
 *       process must not even open the file.</li>
 *   <li><b>Across processes</b>: an exclusive {@code fcntl} lock ({@link FileChannel#tryLock()}) on a
 *       lock file: {@code <wal file>.lock} beside a WAL file, {@code strata.lock} inside a data
 *       directory. The lock file holds one line naming the holder (pid, host, since when), which a
 *       refused opener reads into its message. On a block device, where no file can be made beside
 *       it, the device node itself is locked, and the holder's pid is looked up in
 *       {@code /proc/locks}. The kernel drops the lock when the process exits, however it exits
 *       (SIGKILL included): a crashed owner never blocks its replacement. Lock files are never
 *       deleted (deleting one would let two processes lock two different files of one name).</li>
 *   <li><b>Not across hosts</b>: these locks are per host. A block device attached to two hosts at
 *       once is not protected: detach it from the old host before another opens it (as EBS requires
 *       anyway).</li>
 * </ul>
 *
 * <p>Thread-safe. {@link #close()} is idempotent and never throws.
 */
public final class OwnershipLock implements AutoCloseable {
    /** Name of the lock file inside a data directory. */
    public static final String DIRECTORY_LOCK_FILE = "strata.lock";
    /** Suffix of the lock file beside a WAL file. */
    public static final String WAL_LOCK_SUFFIX = ".lock";

    /** Targets held in this process (real paths), with their holder's description. */
    private static final Map<Path, String> HELD = new ConcurrentHashMap<>();

    private final Path target;
    private final FileChannel channel;
    private final FileLock lock;
    private final AtomicBoolean released = new AtomicBoolean();

    private OwnershipLock(Path target, FileChannel channel, FileLock lock) {
        this.target = target;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes the WAL at {@code walPath} (a file, existing or not yet created, or a block device). The
     * parent directory of a WAL file must exist.
     *
     * @throws StorageInUseException another store, here or in another process, holds it
     * @throws StorageException the lock (file) cannot be opened, e.g. the path is a directory
     */
    public static OwnershipLock forWal(Path walPath) {
        Path target = realTarget(walPath, "walPath");
        if (Files.isDirectory(target)) {
            throw new StorageException("walPath: " + walPath + " is a directory; the WAL is a file or a block device",
                    false);
        }
        boolean device = Files.exists(target) && !Files.isRegularFile(target);
        Path lockFile = device ? target : target.resolveSibling(target.getFileName() + WAL_LOCK_SUFFIX);
        return acquire(target, lockFile, !device, "WAL");
    }

    /**
     * Takes the data directory {@code dir} (which must exist) through its {@value #DIRECTORY_LOCK_FILE}.
     *
     * @throws StorageInUseException another store, here or in another process, holds it
     * @throws StorageException the lock file cannot be created or opened
     */
    public static OwnershipLock forDirectory(Path dir) {
        Path target = realTarget(dir, "dataDir");
        if (!Files.isDirectory(target)) {
            throw new StorageException("dataDir: " + dir + " is not a directory", false);
        }
        return acquire(target, target.resolve(DIRECTORY_LOCK_FILE), true, "data directory");
    }

    /** The real path of what is held (the WAL file or device, or the data directory). */
    public Path target() {
        return target;
    }

    /** Whether this lock is (or was) for {@code path}: the same real path. */
    public boolean isFor(Path path) {
        try {
            return realTarget(path, "path").equals(target);
        } catch (StorageException e) {
            return false;
        }
    }

    /** Whether this lock still holds its target. */
    public boolean isHeld() {
        return !released.get();
    }

    /** Releases the target (idempotent). */
    @Override
    public void close() {
        if (!released.compareAndSet(false, true)) {
            return;
        }
        try {
            lock.release();
        } catch (IOException | RuntimeException ignored) {
            // closing the channel below releases it too
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // the descriptor is gone either way
        }
        HELD.remove(target); // last: a new owner in this process only comes once the kernel lock is gone
    }

    @Override
    public String toString() {
        return "OwnershipLock[" + target + (isHeld() ? "" : ", released") + "]";
    }

    private static OwnershipLock acquire(Path target, Path lockFile, boolean writeHolder, String what) {
        String holder = "pid=" + ProcessHandle.current().pid() + " host=" + hostName() + " since=" + Instant.now();
        String earlier = HELD.putIfAbsent(target, holder);
        if (earlier != null) {
            throw inUse(target, what, "another store in this process (" + earlier + ")");
        }
        FileChannel channel = null;
        try {
            channel = writeHolder
                    ? FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)
                    : FileChannel.open(lockFile, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // held through another path in this process; the registry missed it (a hard link)
            }
            if (lock == null) {
                String other = writeHolder ? readHolder(channel) : holderFromProcLocks(target);
                closeQuietly(channel);
                HELD.remove(target, holder);
                throw inUse(target, what, "another process (" + other + ")");
            }
            if (writeHolder) {
                writeHolder(channel, holder + " " + what + "=" + target + "\n");
            }
            return new OwnershipLock(target, channel, lock);
        } catch (IOException e) {
            closeQuietly(channel);
            HELD.remove(target, holder);
            throw new StorageException("cannot lock the " + what + " " + target + ": lock file " + lockFile + ": " + e,
                    false, e);
        }
    }

    /** Records who holds the lock, for a refused opener's message; best effort (the lock is what counts). */
    private static void writeHolder(FileChannel channel, String line) {
        try {
            channel.truncate(0);
            channel.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8)), 0);
        } catch (IOException e) {
            // e.g. no space left: the lock is held all the same; a refused opener then reads no holder
        }
    }

    private static StorageInUseException inUse(Path target, String what, String holder) {
        return new StorageInUseException(target.toString(), "the " + what + " " + target
                + " is already open by " + holder + "; one store at a time may open it");
    }

    /** The real path of {@code path}, or, for a file not yet created, its real parent and its name. */
    private static Path realTarget(Path path, String setting) {
        Path absolute = path.toAbsolutePath().normalize();
        try {
            if (Files.exists(absolute)) {
                return absolute.toRealPath();
            }
            Path parent = absolute.getParent();
            if (parent == null) {
                throw new StorageException(setting + ": " + path + " has no parent directory", false);
            }
            return parent.toRealPath().resolve(absolute.getFileName());
        } catch (NoSuchFileException e) {
            throw new StorageException(setting + ": the directory of " + path + " does not exist", false, e);
        } catch (IOException e) {
            throw new StorageException(setting + ": cannot resolve " + path + ": " + e, false, e);
        }
    }

    private static String readHolder(FileChannel channel) {
        try {
            ByteBuffer b = ByteBuffer.allocate(512);
            channel.read(b, 0);
            String line = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
            return line.isEmpty() ? "holder not recorded" : line;
        } catch (IOException e) {
            return "holder unreadable: " + e.getMessage();
        }
    }

    /** The pid holding a lock on {@code device}'s inode, from {@code /proc/locks} (Linux), if found. */
    private static String holderFromProcLocks(Path device) {
        try {
            long inode = ((Number) Files.getAttribute(device, "unix:ino")).longValue();
            List<String> lines = Files.readAllLines(Path.of("/proc/locks"));
            for (String line : lines) {
                // "1: POSIX  ADVISORY  WRITE 12345 00:05:123 0 EOF"
                String[] f = line.trim().split("\\s+");
                if (f.length >= 6 && f[5].endsWith(":" + inode)) {
                    return "pid=" + f[4];
                }
            }
            return "holder not found in /proc/locks";
        } catch (IOException | RuntimeException e) {
            return "holder unknown: " + e.getMessage();
        }
    }

    private static String hostName() {
        return HostName.NAME;
    }

    /** Looked up once, when first needed. */
    private static final class HostName {
        static final String NAME = lookUp();

        private static String lookUp() {
            try {
                return InetAddress.getLocalHost().getHostName();
            } catch (IOException | RuntimeException e) {
                return "unknown";
            }
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing to do
            }
        }
    }
}
