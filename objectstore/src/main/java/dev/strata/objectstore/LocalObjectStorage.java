package dev.strata.objectstore;

import com.sun.nio.file.ExtendedOpenOption;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link ObjectStorage} in a local directory: object {@code a/b/c} is the file {@code <root>/a/b/c}.
 * The embedded default, and the reference the S3 backend is tested against.
 *
 * <pre>
 * Durability:
 *   A write goes to a temporary file next to the target (".strata-tmp-&lt;uuid&gt;", never listed and not a
 *   valid key segment), is fsynced, then renamed over the target (or hard-linked to it, for
 *   ifAbsent), and the directory is fsynced. After put's future completes the object survives a
 *   crash; before that, a reader sees the old object or none, never a partial one. Temporary files
 *   left by a crash are ignored by list and get; listIncompleteUploads reports them (with their
 *   modification time) and abortIncompleteUploads deletes them: the engine's compactor does so
 *   for those older than its orphan TTL.
 *   While a large object is written, every {@link #WRITEBACK_BYTES} written are flushed (fdatasync of
 *   the file so far, as RocksDB's bytes_per_sync), so the final fsync is small: one sync of a whole
 *   multi-MiB object floods the disk queue and stalls other writers of the same disk, such as the
 *   WAL of the embedded default (the engine benchmark at 64 KiB with WAL and objects on one disk
 *   measured a much lower p99 append latency with it, at the same throughput: the 2026-12-06
 *   engine-and-WAL record under docs/measurements/).
 *
 * Direct I/O:
 *   Where the file system takes O_DIRECT (probed once at open: ext4, xfs; not where it refuses it),
 *   uploads bypass the page cache: each write task copies its bytes into an aligned 1 MiB staging
 *   buffer (at most one per I/O thread kept for reuse) and writes whole blocks; the last partial
 *   block is written zero-padded and the file truncated to its length before the fsync. Objects are
 *   written once and read through the engine's BlockCache, so page-cache copies of them were a
 *   second cache, and filling fresh page-cache pages cost more CPU than the copy into a reused
 *   staging buffer (see the README's performance notes). GETs of {@link #DIRECT_READ_MIN_BYTES}
 *   (256 KiB) or more read with O_DIRECT too, the enclosing aligned range into a pooled buffer (at
 *   most two blocks plus one block of alignment more than asked; the body is a slice of exactly the
 *   range): catch-up reads of data blocks are of that size, and reading them through the page
 *   cache cost the kernel more CPU than the bytes themselves (measured in the replay scenario: the
 *   object store's threads spent about half a core in the kernel; with O_DIRECT the replay's CPU
 *   per MiB fell by a quarter and it ran 1.5x faster; the 2026-12-07d replay record under
 *   docs/measurements/). Smaller GETs (footers, indexes, manifests) stay buffered. The periodic
 *   flush above applies to buffered uploads only: direct writes leave no dirty pages behind.
 *
 * Conditional writes:
 *   ifAbsent uses link(2), which fails atomically if the target exists, so it holds even against
 *   other processes. ifMatch compares the ETag and renames under a per-key lock stripe, which every
 *   write and delete of this instance takes: it is atomic among users of this instance (one
 *   process owns a directory, as the embedded default does), not against other processes.
 *
 * ETags:
 *   A 64-bit fingerprint of the content plus its length: "&lt;crc32c&gt;&lt;crc32&gt;-&lt;length&gt;" in hex, both
 *   CRCs of the whole content, computed while writing and remembered per key; on a miss (e.g.
 *   after a restart) head recomputes it by reading the file. list returns a null ETag rather than
 *   reading every file. Why not MD5 (what S3 uses for single-part objects): it cost about half of
 *   the upload path's CPU (StreamStoreAppendBenchmark, 64 KiB appends), while both CRCs are CPU
 *   intrinsics. What conditional writes need is that the ETag changes when the content changes:
 *   a different length always changes it; for the same length, the two generator polynomials are
 *   coprime, so the pair acts as one 64-bit CRC: every change within 8 consecutive bytes is
 *   detected, and any other change goes unnoticed with probability 2^-64. Equal content has equal
 *   ETags (as with MD5), which is what lets an ETag survive a restart. It is not a cryptographic
 *   digest (an adversary who controls the whole content could forge a match), which ifMatch on a
 *   directory this process owns does not need.
 *
 * Concurrency:
 *   Blocking file I/O runs on the I/O executor ("strata-objectstore-local-N" unless one is given);
 *   futures complete there. locks[] (stripes by key hash) guard commit, delete and the etags map
 *   entry of their keys.
 *
 * Failure:
 *   NoSuchFileException -> NOT_FOUND, FileAlreadyExistsException on link -> PRECONDITION_FAILED,
 *   AccessDenied and file/directory conflicts -> PERMANENT, a full disk or quota (ENOSPC, EDQUOT) and
 *   other IOException -> TRANSIENT (a full disk clears when space is freed: retriable, and the
 *   engine's uploader does retry it). No retries here (wrap in RetryingObjectStorage for them).
 *
 * Limitation vs S3: a key cannot also be the directory of other keys ("a" and "a/b"); such a write
 *   fails PERMANENT. Strata's key scheme never produces that.
 * </pre>
 */
public final class LocalObjectStorage implements ObjectStorage {
    private static final Logger LOG = LoggerFactory.getLogger(LocalObjectStorage.class);

    /** Name prefix of temporary files; a key segment may not start with it. */
    static final String TEMP_PREFIX = ".strata-tmp-";
    /** Default I/O threads: enough to overlap fsyncs of concurrent uploads on a 2-4 core box. */
    public static final int DEFAULT_IO_THREADS = 4;
    /** Lock stripes for conditional writes; a power of two. */
    private static final int LOCK_STRIPES = 64;

    /** How long {@link #close()} waits for accepted requests to finish on the storage's own threads. */
    static final Duration CLOSE_WAIT = Duration.ofSeconds(30);
    /** Set on the I/O threads a storage owns, so that close called from one of them does not wait for itself. */
    private static final ThreadLocal<Boolean> ON_OWNED_IO_THREAD = new ThreadLocal<>();

    private final Path root;
    private final Executor executor;
    private final ExecutorService ownedExecutor; // null if the executor was given
    private final ByteBufAllocator allocator;
    private final ReentrantLock[] locks = new ReentrantLock[LOCK_STRIPES];
    private final Map<String, String> etags = new ConcurrentHashMap<>(); // guarded by: locks[stripe(key)] for writes
    private final ObjectStorageMetrics metrics = new ObjectStorageMetrics();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Temporary files of this instance's uploads in progress: never reported as incomplete uploads. */
    private final Set<Path> activeTemporaryFiles = ConcurrentHashMap.newKeySet();
    /** Staging for O_DIRECT uploads, or null where the file system refused them (buffered writes). */
    private final DirectFileWriter.Staging staging;

    private LocalObjectStorage(Path root, Executor executor, ExecutorService ownedExecutor, ByteBufAllocator allocator,
                               DirectFileWriter.Staging staging) {
        this.root = root;
        this.executor = executor;
        this.ownedExecutor = ownedExecutor;
        this.allocator = allocator;
        this.staging = staging;
        for (int i = 0; i < LOCK_STRIPES; i++) {
            locks[i] = new ReentrantLock();
        }
    }

    /**
     * Opens (creating if needed) a storage rooted at {@code root}, with its own I/O threads and the
     * pooled allocator.
     *
     * @throws dev.strata.api.StorageException if the directory cannot be created
     */
    public static LocalObjectStorage open(Path root) {
        AtomicInteger n = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(DEFAULT_IO_THREADS, r -> {
            Thread t = new Thread(() -> {
                ON_OWNED_IO_THREAD.set(Boolean.TRUE);
                r.run();
            }, "strata-objectstore-local-" + n.getAndIncrement());
            t.setDaemon(true);
            return t;
        });
        try {
            return open(root, pool, pool, PooledByteBufAllocator.DEFAULT);
        } catch (RuntimeException e) {
            pool.shutdown();
            throw e;
        }
    }

    /** Opens a storage whose I/O runs on {@code executor} (not shut down by {@link #close()}). */
    public static LocalObjectStorage open(Path root, Executor executor, ByteBufAllocator allocator) {
        return open(root, executor, null, allocator);
    }

    private static LocalObjectStorage open(Path root, Executor executor, ExecutorService owned,
                                           ByteBufAllocator allocator) {
        return open(root, executor, owned, allocator, true);
    }

    /** {@code directWrites}: whether uploads may use O_DIRECT (tests turn it off to cover buffered writes). */
    static LocalObjectStorage open(Path root, Executor executor, ExecutorService owned, ByteBufAllocator allocator,
                                   boolean directWrites) {
        Path abs = root.toAbsolutePath().normalize();
        try {
            Files.createDirectories(abs);
        } catch (IOException e) {
            throw new ObjectStorageException(ObjectStorageException.Kind.PERMANENT, Operation.PUT, null, 0,
                    "cannot create object directory " + abs, e);
        }
        int align = directWrites ? directWriteAlignment(abs) : 0;
        DirectFileWriter.Staging staging = align == 0 ? null
                : new DirectFileWriter.Staging(DIRECT_STAGING_BYTES, align, DEFAULT_IO_THREADS);
        LOG.info("local object store opened: root={} uploads={}", abs,
                align == 0 ? "buffered" : "O_DIRECT (blocks of " + align + " bytes)");
        return new LocalObjectStorage(abs, executor, owned, allocator, staging);
    }

    /**
     * The block size for O_DIRECT uploads under {@code dir} (the file store's block size, at least
     * 4096), after a probe write there succeeded; 0 if the file system refuses direct I/O or the probe
     * fails for any reason (then uploads are buffered, as before).
     */
    static int directWriteAlignment(Path dir) {
        int align;
        try {
            align = (int) Math.max(4096, Files.getFileStore(dir).getBlockSize());
        } catch (IOException | UnsupportedOperationException | ArithmeticException e) {
            return 0;
        }
        if (Integer.bitCount(align) != 1 || align > DIRECT_STAGING_BYTES) {
            return 0;
        }
        Path probe = dir.resolve(TEMP_PREFIX + "probe-" + UUID.randomUUID());
        try {
            DirectFileWriter w = DirectFileWriter.create(probe, align, new DirectFileWriter.Staging(align, align, 1));
            try {
                w.write(new ByteBuffer[] {ByteBuffer.wrap(new byte[] {1})});
                w.finish();
            } finally {
                w.channel().close();
            }
            return align;
        } catch (IOException | UnsupportedOperationException e) {
            LOG.info("local object store: direct I/O unavailable under {}, uploads are buffered: {}", dir, e.toString());
            return 0;
        } finally {
            try {
                Files.deleteIfExists(probe);
            } catch (IOException e) {
                LOG.warn("could not delete probe file {}", probe, e);
            }
        }
    }

    /** Whether uploads, and GETs of 256 KiB or more, use O_DIRECT (see {@link #directWriteAlignment}). */
    public boolean directWrites() {
        return staging != null;
    }

    public Path root() {
        return root;
    }

    @Override
    public CompletableFuture<ObjectInfo> put(String key, ByteBuf data, PutCondition condition) {
        ObjectUpload upload;
        try {
            upload = startUpload(key, condition);
        } catch (RuntimeException e) {
            data.release();
            throw e;
        }
        upload.write(data);
        return upload.complete();
    }

    @Override
    public ObjectUpload startUpload(String key, PutCondition condition) {
        Path target = pathOf(key);
        return new LocalUpload(key, target, condition);
    }

    @Override
    public CompletableFuture<ObjectData> get(String key, ByteRange range) {
        Path path = pathOf(key);
        return call(Operation.GET, key, () -> {
            requireNotDirectory(path);
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                long size = ch.size();
                long pos;
                long len;
                if (range.isAll()) {
                    pos = 0;
                    len = size;
                } else if (range.isSuffix()) {
                    len = Math.min(size, range.length());
                    pos = size - len;
                } else {
                    pos = range.position();
                    if (pos >= size && size > 0 || pos > 0 && size == 0) {
                        throw new ObjectStorageException(ObjectStorageException.Kind.PERMANENT, Operation.GET, key,
                                416, "range not satisfiable: range=" + range + " size=" + size, null);
                    }
                    len = Math.min(range.length(), size - pos);
                }
                if (len > Integer.MAX_VALUE - 8) {
                    throw new IllegalArgumentException("range too large for one buffer: key=" + key + " length=" + len);
                }
                ByteBuf buf = staging != null && len >= DIRECT_READ_MIN_BYTES
                        && len <= Integer.MAX_VALUE - 4L * staging.align()
                        ? readDirect(ch, path, pos, len, staging.align())
                        : readBuffered(ch, key, pos, (int) len);
                return new Result<>(new ObjectData(key, buf, pos, size, etags.get(key)), len);
            }
        });
    }

    /** Reads {@code [pos, pos + len)} through {@code ch} (the page cache) into a pooled buffer. */
    private ByteBuf readBuffered(FileChannel ch, String key, long pos, int len) throws IOException {
        ByteBuf buf = allocator.directBuffer(len);
        try {
            while (buf.writableBytes() > 0) {
                int n = buf.writeBytes(ch, pos + buf.writerIndex(), buf.writableBytes());
                if (n < 0) {
                    throw new IOException("file shrank while reading: key=" + key + " position="
                            + (pos + buf.writerIndex()));
                }
            }
            return buf;
        } catch (IOException | RuntimeException e) {
            buf.release();
            throw e;
        }
    }

    @Override
    public CompletableFuture<ObjectInfo> head(String key) {
        Path path = pathOf(key);
        return call(Operation.HEAD, key, () -> {
            requireNotDirectory(path);
            long size = Files.size(path);
            return new Result<>(new ObjectInfo(key, size, currentEtag(key, path)), 0);
        });
    }

    @Override
    public CompletableFuture<Void> delete(Collection<String> keys) {
        List<String> all = List.copyOf(keys);
        List<Path> paths = new ArrayList<>(all.size());
        for (String k : all) {
            paths.add(pathOf(k));
        }
        List<CompletableFuture<Void>> batches = new ArrayList<>();
        for (int from = 0; from < all.size(); from += MAX_KEYS_PER_DELETE) {
            int to = Math.min(all.size(), from + MAX_KEYS_PER_DELETE);
            int start = from;
            batches.add(call(Operation.DELETE, null, () -> {
                for (int i = start; i < to; i++) {
                    ReentrantLock lock = lockFor(all.get(i));
                    lock.lock();
                    try {
                        Files.deleteIfExists(paths.get(i));
                        etags.remove(all.get(i));
                    } finally {
                        lock.unlock();
                    }
                }
                return new Result<Void>(null, 0);
            }));
        }
        return Retrier.unwrapped(CompletableFuture.allOf(batches.toArray(CompletableFuture[]::new)));
    }

    @Override
    public CompletableFuture<List<ObjectInfo>> list(String prefix) {
        // Walk only the deepest directory the prefix pins down ("a/b/c" -> <root>/a/b).
        int slash = prefix.lastIndexOf('/');
        Path start = slash < 0 ? root : root.resolve(prefix.substring(0, slash)).normalize();
        if (!start.startsWith(root)) {
            throw new IllegalArgumentException("list prefix escapes the storage root: prefix=" + prefix);
        }
        return call(Operation.LIST, prefix, () -> {
            List<ObjectInfo> out = new ArrayList<>();
            walk(start, false, dirKey -> dirKey.startsWith(prefix) || prefix.startsWith(dirKey), (p, attrs) -> {
                String key = keyOf(p);
                if (key.startsWith(prefix)) {
                    out.add(new ObjectInfo(key, attrs.size(), etags.get(key)));
                }
            });
            out.sort((a, b) -> a.key().compareTo(b.key()));
            return new Result<>(out, 0);
        });
    }

    /**
     * Temporary files under the root that no upload of this instance is writing, each with its
     * modification time as {@link IncompleteUpload#startedAt()} and its path under the root as
     * {@link IncompleteUpload#uploadId()}: left by a process killed mid-upload (or by another
     * instance on the same directory, whose files the caller's age limit must spare). Runs as a
     * {@link Operation#LIST}.
     */
    @Override
    public CompletableFuture<List<IncompleteUpload>> listIncompleteUploads() {
        return call(Operation.LIST, null, () -> {
            List<IncompleteUpload> out = new ArrayList<>();
            walk(root, true, dirKey -> true, (p, attrs) -> {
                if (!activeTemporaryFiles.contains(p)) {
                    out.add(new IncompleteUpload(null, keyOf(p), attrs.lastModifiedTime().toInstant()));
                }
            });
            out.sort((a, b) -> a.uploadId().compareTo(b.uploadId()));
            return new Result<>(out, 0);
        });
    }

    /**
     * Deletes the temporary files of {@code uploads} (from {@link #listIncompleteUploads()}), each
     * only if it is still a temporary file under the root that no upload of this instance writes
     * and its modification time is still the listed one (nobody wrote to it since). Runs as a
     * {@link Operation#DELETE}.
     */
    @Override
    public CompletableFuture<Void> abortIncompleteUploads(Collection<IncompleteUpload> uploads) {
        List<IncompleteUpload> all = List.copyOf(uploads);
        List<Path> paths = new ArrayList<>(all.size());
        for (IncompleteUpload u : all) {
            Path p = root.resolve(u.uploadId()).normalize();
            if (!p.startsWith(root) || !p.getFileName().toString().startsWith(TEMP_PREFIX)) {
                throw new IllegalArgumentException("not a temporary file of this storage: uploadId=" + u.uploadId());
            }
            paths.add(p);
        }
        return call(Operation.DELETE, null, () -> {
            int deleted = 0;
            for (int i = 0; i < all.size(); i++) {
                Path p = paths.get(i);
                if (activeTemporaryFiles.contains(p)) {
                    continue;
                }
                try {
                    BasicFileAttributes attrs = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                    if (attrs.isRegularFile() && attrs.lastModifiedTime().toInstant().equals(all.get(i).startedAt())) {
                        Files.delete(p);
                        deleted++;
                    }
                } catch (NoSuchFileException gone) {
                    // deleted already
                }
            }
            if (deleted > 0) {
                LOG.debug("deleted {} temporary files of abandoned uploads under {}", deleted, root);
            }
            return new Result<Void>(null, 0);
        });
    }

    /** Receives a file found by {@link #walk}. */
    @FunctionalInterface
    private interface FileVisitor {
        void visit(Path file, BasicFileAttributes attrs) throws IOException;
    }

    /**
     * Visits the regular files under {@code dir}: objects, or (with {@code temporary}) temporary
     * files, told apart by name before anything else is asked of them; descends into a directory
     * only if {@code descend} accepts its key plus '/'. An entry (file or whole directory) that
     * disappears while it is walked was deleted or renamed concurrently: it is simply not visited
     * (as an object deleted during an S3 listing), never a failure.
     */
    private void walk(Path dir, boolean temporary, java.util.function.Predicate<String> descend, FileVisitor visitor)
            throws IOException {
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            for (Path p : stream) {
                boolean isTemporary = p.getFileName().toString().startsWith(TEMP_PREFIX);
                if (!isTemporary || temporary) {
                    entries.add(p);
                }
            }
        } catch (NoSuchFileException | NotDirectoryException gone) {
            return; // removed (or replaced by a file) while listing
        } catch (DirectoryIteratorException e) {
            if (e.getCause() instanceof NoSuchFileException) {
                return;
            }
            throw e.getCause();
        }
        for (Path p : entries) {
            BasicFileAttributes attrs;
            try {
                attrs = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (attrs.isSymbolicLink()) { // a link to a file is listed as that file; links to directories are not followed
                    attrs = Files.readAttributes(p, BasicFileAttributes.class);
                    if (attrs.isDirectory()) {
                        continue;
                    }
                }
            } catch (NoSuchFileException gone) {
                continue; // deleted or renamed away while listing
            }
            boolean isTemporary = p.getFileName().toString().startsWith(TEMP_PREFIX);
            if (attrs.isDirectory()) {
                if (!isTemporary && descend.test(keyOf(p) + "/")) {
                    walk(p, temporary, descend, visitor);
                }
            } else if (attrs.isRegularFile() && isTemporary == temporary) {
                visitor.visit(p, attrs);
            }
        }
    }

    /**
     * Deletes every temporary file under the root that no upload of this instance is writing,
     * whatever its age. Only for a directory no other process or instance writes to; the engine
     * uses {@link #listIncompleteUploads()} and {@link #abortIncompleteUploads} with an age limit.
     */
    public void deleteTemporaryFiles() throws IOException {
        walk(root, true, dirKey -> true, (p, attrs) -> {
            if (!activeTemporaryFiles.contains(p)) {
                Files.deleteIfExists(p);
            }
        });
    }

    @Override
    public ObjectStorageMetrics metrics() {
        return metrics;
    }

    /**
     * Refuses new requests and, when the I/O threads are this storage's own, waits (up to
     * {@link #CLOSE_WAIT}) for the requests already accepted to finish, so that no file is written
     * under the root after close returns. Called from one of those threads it does not wait (it
     * would wait for itself). With a given executor it does not wait: the caller owns those threads.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true) || ownedExecutor == null) {
            return;
        }
        ownedExecutor.shutdown();
        if (Boolean.TRUE.equals(ON_OWNED_IO_THREAD.get())) {
            return;
        }
        try {
            if (!ownedExecutor.awaitTermination(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("local object store closed with I/O still running after {}: root={}", CLOSE_WAIT, root);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- helpers ------------------------------------------------------------------------------

    private Path pathOf(String key) {
        ObjectKeys.validate(key);
        for (String segment : key.split("/")) {
            if (segment.startsWith(TEMP_PREFIX)) {
                throw new IllegalArgumentException("object key segment must not start with " + TEMP_PREFIX + ": key=" + key);
            }
        }
        Path p = root.resolve(key).normalize();
        if (!p.startsWith(root) || p.equals(root)) {
            throw new IllegalArgumentException("object key escapes the storage root: key=" + key);
        }
        return p;
    }

    /** A directory (the parent of other keys) is not an object: "no such key", as on S3. */
    private static void requireNotDirectory(Path path) throws NoSuchFileException {
        if (Files.isDirectory(path)) {
            throw new NoSuchFileException(path.toString(), null, "is a directory, not an object");
        }
    }

    private String keyOf(Path p) {
        return root.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/");
    }

    private ReentrantLock lockFor(String key) {
        return locks[key.hashCode() & (LOCK_STRIPES - 1)];
    }

    private String currentEtag(String key, Path path) throws IOException {
        String cached = etags.get(key);
        if (cached != null) {
            return cached;
        }
        EtagBuilder etag = new EtagBuilder();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
            while (ch.read(buf) >= 0) {
                buf.flip();
                etag.update(buf);
                buf.clear();
            }
        }
        return etag.etag();
    }

    /**
     * The ETag of a content fed in order (see "ETags" above): CRC32C and CRC32 of all bytes, and
     * their count. Not thread-safe.
     */
    static final class EtagBuilder {
        private final CRC32C crc32c = new CRC32C();
        private final CRC32 crc32 = new CRC32();
        private long length;

        /** Adds the remaining bytes of {@code buf}; its position is left unchanged. */
        void update(ByteBuffer buf) {
            length += buf.remaining();
            crc32c.update(buf.duplicate());
            crc32.update(buf.duplicate());
        }

        String etag() {
            HexFormat hex = HexFormat.of();
            return hex.toHexDigits((int) crc32c.getValue()) + hex.toHexDigits((int) crc32.getValue()) + "-"
                    + Long.toHexString(length);
        }
    }

    private static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    private record Result<T>(T value, long bytes) {
    }

    @FunctionalInterface
    private interface IoCall<T> {
        Result<T> call() throws IOException;
    }

    /** Runs {@code body} on the I/O executor; records it under {@code op} unless that is null. */
    private <T> CompletableFuture<T> call(Operation op, String key, IoCall<T> body) {
        if (closed.get()) {
            return CompletableFuture.failedFuture(new ObjectStorageException(ObjectStorageException.Kind.PERMANENT,
                    op == null ? Operation.PUT : op, key, 0, "storage is closed", null));
        }
        CompletableFuture<T> f = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                long start = System.nanoTime();
                try {
                    Result<T> r = body.call();
                    if (op != null) {
                        metrics.record(op, r.bytes(), System.nanoTime() - start, null);
                    }
                    f.complete(r.value());
                } catch (Throwable t) {
                    ObjectStorageException e = translate(op == null ? Operation.PUT : op, key, t);
                    if (op != null) {
                        metrics.record(op, 0, System.nanoTime() - start, e.kind());
                    }
                    f.completeExceptionally(e);
                }
            });
        } catch (RuntimeException rejected) {
            f.completeExceptionally(new ObjectStorageException(ObjectStorageException.Kind.PERMANENT, op == null ? Operation.PUT : op, key, 0,
                    "I/O executor rejected the request", rejected));
        }
        return f;
    }

    static ObjectStorageException translate(Operation op, String key, Throwable t) {
        t = Retrier.unwrap(t);
        if (t instanceof ObjectStorageException e) {
            return e;
        }
        if (t instanceof NoSuchFileException) {
            return new ObjectNotFoundException(op, key, 0, "no such object", t);
        }
        String msg = String.valueOf(t.getMessage());
        if (t instanceof FileAlreadyExistsException || t instanceof DirectoryNotEmptyException
                || t instanceof NotDirectoryException || t instanceof FileSystemException && msg.contains("directory")) {
            // A file cannot also be a directory: keys "a" and "a/b" cannot both exist here (unlike S3).
            return new ObjectStorageException(ObjectStorageException.Kind.PERMANENT, op, key, 0,
                    "key conflicts with another key's directory (a file cannot also be a directory): " + msg, t);
        }
        if (t instanceof AccessDeniedException) {
            return new ObjectStorageException(ObjectStorageException.Kind.PERMANENT, op, key, 0,
                    "local I/O failed: " + msg, t);
        }
        if (isDiskFull(msg)) {
            // A full disk (or quota) is a condition that clears when space is freed, as the uploader,
            // which keeps retrying, assumes: retriable, like a throttled S3 request.
            return new ObjectStorageException(ObjectStorageException.Kind.TRANSIENT, op, key, 0,
                    "local disk full (retriable once space is freed): " + msg, t);
        }
        if (t instanceof IOException) {
            return new ObjectStorageException(ObjectStorageException.Kind.TRANSIENT, op, key, 0,
                    "local I/O failed: " + msg, t);
        }
        if (t instanceof IllegalArgumentException) {
            return new ObjectStorageException(ObjectStorageException.Kind.PERMANENT, op, key, 0,
                    "invalid request: " + msg, t);
        }
        return new ObjectStorageException(ObjectStorageException.Kind.PERMANENT, op, key, 0,
                "unexpected failure: " + t, t);
    }

    /** Whether an I/O error message is ENOSPC or EDQUOT, as the JDK words them on Linux. */
    private static boolean isDiskFull(String msg) {
        return msg.contains("No space left on device") || msg.contains("Disk quota exceeded");
    }

    /** Largest pooled buffer a write of heap bytes goes through. */
    private static final int STAGING_BYTES = 256 << 10;

    /** GETs of at least this many bytes read with O_DIRECT where uploads use it (see "Direct I/O" above). */
    static final int DIRECT_READ_MIN_BYTES = 256 << 10;

    /**
     * Reads {@code [pos, pos + len)} of {@code path} (which holds all of it) with O_DIRECT: the
     * enclosing range of whole {@code align}-byte blocks into an aligned part of one pooled buffer,
     * returned as a slice of exactly the bytes asked for (the slice holds the buffer). A short read
     * that leaves an unaligned position (not seen on ext4 or xfs short of the file's end) is finished
     * with buffered reads through {@code buffered}, the GET's own channel on the same file.
     */
    private ByteBuf readDirect(FileChannel buffered, Path path, long pos, long len, int align) throws IOException {
        long from = pos & -align;
        long need = pos + len - from; // bytes from the aligned start through the last byte asked for
        int window = (int) ((need + align - 1) & -align);
        ByteBuf buf = allocator.directBuffer(window + align);
        try {
            ByteBuffer whole = buf.nioBuffer(0, buf.capacity());
            int shift = (align - whole.alignmentOffset(0, align)) % align;
            ByteBuffer target = whole.position(shift).limit(shift + window).slice();
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, ExtendedOpenOption.DIRECT)) {
                while (target.position() < need && target.position() % align == 0) {
                    if (ch.read(target, from + target.position()) <= 0) {
                        break;
                    }
                }
            }
            if (target.position() < need) {
                target.limit((int) need);
                while (target.hasRemaining()) {
                    if (buffered.read(target, from + target.position()) <= 0) {
                        throw new IOException("file shrank while reading: path=" + path + " position="
                                + (from + target.position()));
                    }
                }
            }
            return buf.retainedSlice(shift + (int) (pos - from), (int) len);
        } finally {
            buf.release();
        }
    }

    /** Aligned staging buffer of an O_DIRECT upload write (one per concurrent write task). */
    static final int DIRECT_STAGING_BYTES = 1 << 20;

    private static boolean allDirect(ByteBuffer[] buffers) {
        for (ByteBuffer b : buffers) {
            if (!b.isDirect()) {
                return false;
            }
        }
        return true;
    }

    /** Bytes of an object written between two flushes while it is written (see Durability above). */
    static final long WRITEBACK_BYTES = 1L << 20;

    /**
     * A streaming write into a temporary file. Writes are chained on {@code tail} so they run in call
     * order on the I/O executor; complete fsyncs and commits per the condition.
     */
    private final class LocalUpload implements ObjectUpload {
        private final String key;
        private final Path target;
        private final Path temp;
        private final PutCondition condition;
        private final EtagBuilder etag = new EtagBuilder(); // used only by tasks chained on tail
        private FileChannel channel; // opened by the first task; used only by tasks chained on tail
        private DirectFileWriter direct; // with O_DIRECT uploads: writes to channel; used only by tasks chained on tail
        private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null); // producer thread only
        private long bytesWritten; // producer thread only
        private boolean finished; // producer thread only
        private long unflushed; // bytes written since the last flush; used only by tasks chained on tail

        LocalUpload(String key, Path target, PutCondition condition) {
            this.key = key;
            this.target = target;
            this.temp = target.resolveSibling(TEMP_PREFIX + UUID.randomUUID());
            this.condition = condition;
            activeTemporaryFiles.add(temp);
        }

        @Override
        public String key() {
            return key;
        }

        @Override
        public CompletableFuture<Void> write(ByteBuf data) {
            if (finished) {
                data.release();
                throw new IllegalStateException("upload already completed or aborted: key=" + key);
            }
            int n = data.readableBytes();
            bytesWritten += n;
            // Exactly one path releases data: the write task, or the short-cut after an earlier failure.
            tail = tail.handle((v, e) -> e).thenCompose(earlier -> {
                if (earlier != null) {
                    data.release();
                    return CompletableFuture.failedFuture(Retrier.unwrap(earlier));
                }
                return call(null, key, () -> {
                    ensureOpen();
                    ByteBuffer[] nio = data.nioBuffers();
                    for (ByteBuffer b : nio) {
                        etag.update(b);
                    }
                    if (direct != null) {
                        direct.write(nio); // no page cache, so no writeback to spread
                        return new Result<Void>(null, 0);
                    }
                    unflushed += n;
                    if (allDirect(nio)) {
                        long end = channel.position() + n;
                        while (channel.position() < end) {
                            channel.write(nio);
                        }
                    } else {
                        writeThroughPooledBuffer(nio);
                    }
                    if (unflushed >= WRITEBACK_BYTES) {
                        channel.force(false); // spread the writeback (see Durability above)
                        unflushed = 0;
                    }
                    return new Result<Void>(null, 0);
                }).whenComplete((v, e) -> data.release());
            });
            return Retrier.unwrapped(tail);
        }

        /**
         * Writes heap bytes (e.g. a manifest) through one pooled direct buffer of at most
         * {@link #STAGING_BYTES}: handed a heap buffer, the channel would copy it into a temporary
         * direct buffer of its whole size that the JDK keeps cached per thread, outside any limit.
         */
        private void writeThroughPooledBuffer(ByteBuffer[] nio) throws IOException {
            long total = 0;
            for (ByteBuffer b : nio) {
                total += b.remaining();
            }
            ByteBuf staging = allocator.directBuffer((int) Math.min(STAGING_BYTES, Math.max(1, total)));
            try {
                for (ByteBuffer b : nio) {
                    ByteBuffer src = b.duplicate();
                    while (src.hasRemaining()) {
                        int len = Math.min(src.remaining(), staging.capacity());
                        ByteBuffer out = staging.clear().writeBytes(src.slice().limit(len)).nioBuffer();
                        src.position(src.position() + len);
                        while (out.hasRemaining()) {
                            channel.write(out);
                        }
                    }
                }
            } finally {
                staging.release();
            }
        }

        private void ensureOpen() throws IOException {
            if (channel == null) {
                Files.createDirectories(target.getParent());
                if (staging != null) {
                    direct = DirectFileWriter.create(temp, staging.align(), staging);
                    channel = direct.channel();
                } else {
                    channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                }
            }
        }

        @Override
        public long bytesWritten() {
            return bytesWritten;
        }

        @Override
        public CompletableFuture<ObjectInfo> complete() {
            if (finished) {
                throw new IllegalStateException("upload already completed or aborted: key=" + key);
            }
            finished = true;
            long size = bytesWritten;
            CompletableFuture<ObjectInfo> done = tail.thenCompose(ignored -> call(Operation.PUT, key, () -> {
                ensureOpen();
                if (direct != null) {
                    direct.finish();
                }
                channel.force(true);
                channel.close();
                String tag = etag.etag();
                commit(tag);
                return new Result<>(new ObjectInfo(key, size, tag), size);
            }));
            return Retrier.unwrapped(done.whenComplete((info, error) -> {
                if (error != null) {
                    discard();
                }
                activeTemporaryFiles.remove(temp);
            }));
        }

        private void commit(String etag) throws IOException {
            ReentrantLock lock = lockFor(key);
            lock.lock();
            try {
                if (condition.isIfAbsent()) {
                    // link(2) fails atomically if the target exists, even against other processes.
                    try {
                        Files.createLink(target, temp);
                    } catch (FileAlreadyExistsException exists) {
                        throw new PreconditionFailedException(Operation.PUT, key, 0, "object already exists", exists);
                    }
                    Files.delete(temp);
                } else {
                    if (condition.matchEtag() != null) {
                        if (!Files.exists(target)) {
                            throw new ObjectNotFoundException(Operation.PUT, key, 0, "ifMatch on a missing object", null);
                        }
                        String current = currentEtag(key, target);
                        if (!current.equals(condition.matchEtag())) {
                            throw new PreconditionFailedException(Operation.PUT, key, 0,
                                    "etag changed: expected=" + condition.matchEtag() + " current=" + current, null);
                        }
                    }
                    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                }
                etags.put(key, etag);
            } finally {
                lock.unlock();
            }
            fsyncDirectory(target.getParent());
        }

        private void discard() {
            try {
                if (channel != null) {
                    channel.close();
                }
                Files.deleteIfExists(temp);
            } catch (IOException e) {
                LOG.warn("could not delete temporary file {} of failed upload key={}", temp, key, e);
            }
            activeTemporaryFiles.remove(temp);
        }

        @Override
        public CompletableFuture<Void> abort() {
            if (finished) {
                return CompletableFuture.completedFuture(null);
            }
            finished = true;
            return Retrier.unwrapped(tail.handle((v, e) -> null).thenCompose(ignored -> call(null, key, () -> {
                discard();
                return new Result<Void>(null, 0);
            })));
        }
    }
}
