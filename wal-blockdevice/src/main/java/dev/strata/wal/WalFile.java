package dev.strata.wal;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the WAL file descriptor used for everything except the append path's data writes
 * (creation and preallocation, header writes and recovery reads), and the WAL's
 * {@link OwnershipLock}. Positional I/O only, so it is
 * safe to use from several threads. Closing it is idempotent.
 *
 * <p>A path that is a block device is used whole (size and logical block size from sysfs, no
 * preallocation); a regular file is created if absent and preallocated by writing zeros once:
 * O_DIRECT writes into merely fallocated (unwritten) ext4 extents cost about 2.5x more per sync
 * because every fdatasync then also commits an extent conversion (I/O measurements §2).
 */
final class WalFile implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WalFile.class);

    /** Chunk of zeros written while preallocating a new file. */
    static final int PREALLOCATE_CHUNK_BYTES = 1 << 20;
    /**
     * Smallest alignment used. The kernel here accepts 512, but the physical sector is 4096 and the
     * JDK's O_DIRECT FileChannel enforces the file store block size (4096), see I/O measurements §2-3.
     */
    static final int MIN_BLOCK_SIZE = 4096;

    private final Path path;
    private final FileChannel channel;
    private final boolean direct;
    private final boolean blockDevice;
    private final int blockSize;
    private final long deviceBytes;
    private final OwnershipLock lock;

    private WalFile(Path path, FileChannel channel, boolean direct, boolean blockDevice, int blockSize, long deviceBytes,
            OwnershipLock lock) {
        this.path = path;
        this.channel = channel;
        this.direct = direct;
        this.blockDevice = blockDevice;
        this.blockSize = blockSize;
        this.deviceBytes = deviceBytes;
        this.lock = lock;
    }

    /**
     * Opens {@code path}; a missing regular file is created with {@code 2 * blockSize + capacity}
     * bytes of zeros, under the name {@code <path>.preallocating}, and renamed to {@code path} only
     * once all of it is written and synced: a process killed while preallocating leaves no file
     * under the WAL's name (the next open deletes the partial one and starts again). An existing
     * regular file keeps its size. The caller holds the WAL's {@link OwnershipLock}; the returned
     * file owns it and releases it when it closes (if this method fails, the caller still owns it).
     *
     * @param direct open with O_DIRECT
     * @throws DirectIoUnsupportedException the file system refused O_DIRECT (nothing was created)
     * @throws IOException any other failure (e.g. no space left while preallocating: nothing is left)
     */
    static WalFile open(Path path, boolean direct, long capacityForNewFile, OwnershipLock lock) throws IOException {
        boolean isDevice = isBlockDevice(path);
        if (!isDevice && !Files.exists(path)) {
            create(path, direct, capacityForNewFile);
        }
        FileChannel ch = openChannel(path, direct, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            int bs = blockSize(path, isDevice);
            long size = isDevice ? deviceBytes(path) : ch.size();
            return new WalFile(path, ch, direct, isDevice, bs, size, lock);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /**
     * Opens an existing WAL file or device for reading only: no ownership lock, no O_DIRECT, nothing
     * created or written. For inspection tools ({@link WalInspector}); the WAL may be open elsewhere.
     *
     * @throws IOException if it does not exist or cannot be read
     */
    static WalFile openReadOnly(Path path) throws IOException {
        boolean isDevice = isBlockDevice(path);
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            int bs = blockSize(path, isDevice);
            long size = isDevice ? deviceBytes(path) : ch.size();
            return new WalFile(path, ch, false, isDevice, bs, size, null);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Where a new WAL file is preallocated before it is renamed to its name. */
    static Path preallocationPath(Path path) {
        return path.resolveSibling(path.getFileName() + ".preallocating");
    }

    private static void create(Path path, boolean direct, long capacity) throws IOException {
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Path temp = preallocationPath(path);
        if (Files.deleteIfExists(temp)) {
            LOG.warn("WAL preallocation interrupted earlier (a crash or kill): deleted the partial file {}", temp);
        }
        boolean done = false;
        try (FileChannel ch = openChannel(temp, direct, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            int bs = blockSize(temp, false);
            long bytes = WalHeaderDescriptor.dataOffset(bs) + capacity;
            preallocate(ch, bytes, bs);
            Files.move(temp, path, StandardCopyOption.ATOMIC_MOVE);
            syncDirectory(parent);
            done = true;
            LOG.info("WAL file created and preallocated with zeros: file={} bytes={}", path, bytes);
        } finally {
            if (!done) {
                Files.deleteIfExists(temp);
            }
        }
    }

    private static FileChannel openChannel(Path path, boolean direct, OpenOption... options) throws IOException {
        List<OpenOption> opts = new ArrayList<>(List.of(options));
        if (!direct) {
            return FileChannel.open(path, opts.toArray(OpenOption[]::new));
        }
        opts.add(ExtendedOpenOption.DIRECT);
        try {
            return FileChannel.open(path, opts.toArray(OpenOption[]::new));
        } catch (IOException e) {
            if (e instanceof java.nio.file.FileSystemException && !(e instanceof java.nio.file.AccessDeniedException)
                    && !(e instanceof java.nio.file.NoSuchFileException)
                    && !(e instanceof java.nio.file.FileAlreadyExistsException)
                    && String.valueOf(e.getMessage()).contains("Invalid argument")) {
                throw new DirectIoUnsupportedException(path, e);
            }
            throw e;
        } catch (UnsupportedOperationException e) {
            throw new DirectIoUnsupportedException(path, e);
        }
    }

    /**
     * Makes a rename in {@code dir} durable (Linux: fsync of the directory). A failure fails the
     * open: a WAL whose name may vanish at a power loss must not acknowledge anything.
     */
    private static void syncDirectory(Path dir) throws IOException {
        if (dir == null) {
            return;
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    /** The file system refused to open a file with O_DIRECT; buffered I/O may work. */
    static final class DirectIoUnsupportedException extends IOException {
        private static final long serialVersionUID = 1L;

        DirectIoUnsupportedException(Path path, Exception cause) {
            super("O_DIRECT unsupported for " + path + ": " + cause, cause);
        }
    }

    private static boolean isBlockDevice(Path path) throws IOException {
        if (!Files.exists(path) || Files.isRegularFile(path) || Files.isDirectory(path)) {
            return false;
        }
        Path real = path.toRealPath();
        return Files.exists(Path.of("/sys/class/block").resolve(real.getFileName().toString()));
    }

    private static int blockSize(Path path, boolean isDevice) throws IOException {
        long bs = Math.max(MIN_BLOCK_SIZE, Files.getFileStore(path).getBlockSize());
        if (isDevice) {
            Path q = sysBlock(path).resolve("queue");
            bs = Math.max(bs, readLong(q.resolve("logical_block_size")));
        }
        if (!WalMath.isPowerOfTwo(bs)) {
            throw new IOException("WAL block size is not a power of two: file=" + path + " blockSize=" + bs);
        }
        return (int) bs;
    }

    private static long deviceBytes(Path path) throws IOException {
        return readLong(sysBlock(path).resolve("size")) * 512;
    }

    private static Path sysBlock(Path device) throws IOException {
        return Path.of("/sys/class/block").resolve(device.toRealPath().getFileName().toString());
    }

    private static long readLong(Path p) throws IOException {
        return Long.parseLong(Files.readString(p).trim());
    }

    private static void preallocate(FileChannel ch, long bytes, int blockSize) throws IOException {
        ByteBuffer zeros = Buffers.allocateAligned(PREALLOCATE_CHUNK_BYTES, blockSize);
        long pos = 0;
        while (pos < bytes) {
            int n = (int) Math.min(PREALLOCATE_CHUNK_BYTES, bytes - pos);
            zeros.clear().limit(n);
            while (zeros.hasRemaining()) {
                pos += ch.write(zeros, pos);
            }
        }
        ch.force(true);
    }

    Path path() {
        return path;
    }

    boolean direct() {
        return direct;
    }

    boolean blockDevice() {
        return blockDevice;
    }

    int blockSize() {
        return blockSize;
    }

    long deviceBytes() {
        return deviceBytes;
    }

    FileChannel channel() {
        return channel;
    }

    /**
     * Reads {@code dst.remaining()} bytes at {@code offset}; bytes past the end of the file read as
     * zeros (a truncated WAL file then simply ends the recovery scan).
     */
    void read(long offset, ByteBuffer dst) throws IOException {
        long pos = offset;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, pos);
            if (n < 0) {
                while (dst.hasRemaining()) {
                    dst.put((byte) 0);
                }
                return;
            }
            pos += n;
        }
    }

    /** Writes {@code src} fully at {@code offset} and makes it durable ({@code force(false)}). */
    void writeDurably(long offset, ByteBuffer src) throws IOException {
        long pos = offset;
        while (src.hasRemaining()) {
            pos += channel.write(src, pos);
        }
        channel.force(false);
    }

    /** Closes the descriptor, then gives up ownership of the WAL (idempotent). */
    @Override
    public void close() throws IOException {
        try {
            channel.close();
        } finally {
            if (lock != null) { // null: opened read-only, without ownership
                lock.close();
            }
        }
    }
}
