package dev.strata.wal;

import static dev.strata.wal.WalRecordDescriptor.HEADER_BYTES;

import dev.strata.api.StorageException;
import dev.strata.wal.spi.WriteBackend;
import dev.strata.wal.spi.WriteBackendFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens a {@link BlockDeviceWal}: takes the ownership lock, chooses the I/O backend, opens (or
 * creates and preallocates) the file, reads its header slots and builds the WAL. Stateless apart
 * from a once-only log line; safe to call from any thread.
 *
 * <p>Backend choice ({@link WalOptions.Backend}): {@code AUTO} takes io_uring where the JVM can run
 * it (JDK 22+, native access, a kernel with io_uring; see the package documentation for why our own
 * FFM binding), else {@code FileChannel} with O_DIRECT, else (a filesystem that rejects O_DIRECT)
 * buffered {@code FileChannel} with fdatasync. {@code PWRITE} (synchronous {@code pwritev2} on
 * writer threads) is an explicit choice. An explicit choice that cannot be honoured fails the open
 * instead of falling back.
 *
 * <p>Failure: every resource acquired before a failure (ownership lock, file, backend) is released
 * before the exception leaves {@link #open}.
 */
final class WalOpener {
    private static final Logger LOG = LoggerFactory.getLogger(BlockDeviceWal.class);
    private static final AtomicBoolean FALLBACK_LOGGED = new AtomicBoolean();

    /** Backend names reported by {@link BlockDeviceWal#backend()}. */
    static final String FILECHANNEL_DIRECT = "filechannel-direct";
    static final String FILECHANNEL_BUFFERED = "filechannel-buffered";
    static final String IO_URING = "io_uring";
    static final String PWRITEV2 = "pwritev2";

    private WalOpener() {
    }

    /** See {@link BlockDeviceWal#open(WalOptions)}; {@code wrapBackend} wraps the write backend (tests). */
    static BlockDeviceWal open(WalOptions options, UnaryOperator<WriteBackend> wrapBackend) {
        Path path = options.path();
        WalOptions.Backend choice = options.backend();
        // The backends that need JDK 22+ (FFM) come from service providers; the FileChannel ones are built in.
        String wanted = choice == WalOptions.Backend.AUTO || choice == WalOptions.Backend.IO_URING ? IO_URING
                : choice == WalOptions.Backend.PWRITE ? PWRITEV2 : null;
        WriteBackendFactory ffm = null;
        if (wanted != null) {
            ffm = findProvider(wanted);
            Optional<String> why = ffm == null ? Optional.of(needsJdk22()) : ffm.unavailableReason();
            if (why.isPresent()) {
                ffm = null;
                if (choice != WalOptions.Backend.AUTO) {
                    throw new StorageException(wanted + " backend unavailable: file=" + path + " reason=" + why.get(),
                            false);
                }
                if (FALLBACK_LOGGED.compareAndSet(false, true)) {
                    LOG.info("WAL {} backend unavailable, using FileChannel: reason={}", wanted, why.get());
                }
            }
        }
        OwnershipLock lock = options.ownershipLock() != null ? options.ownershipLock() : OwnershipLock.forWal(path);
        WalFile file;
        try {
            if (choice == WalOptions.Backend.BUFFERED) {
                file = WalFile.open(path, false, options.capacityBytes(), lock);
            } else {
                try {
                    file = WalFile.open(path, true, options.capacityBytes(), lock);
                } catch (WalFile.DirectIoUnsupportedException e) {
                    if (choice != WalOptions.Backend.AUTO) {
                        throw e;
                    }
                    LOG.warn("WAL O_DIRECT unsupported, using buffered I/O + fdatasync: file={} error={}", path,
                            e.getMessage());
                    ffm = null;
                    file = WalFile.open(path, false, options.capacityBytes(), lock);
                }
            }
        } catch (IOException e) {
            lock.close();
            boolean noSpace = String.valueOf(e.getMessage()).contains("No space left");
            throw new StorageException("WAL open failed: file=" + path + (noSpace ? " (no space left on the device"
                    + " for a WAL of capacity " + options.capacityBytes() + " bytes; free space or lower walCapacity)"
                    : "") + " error=" + e, noSpace, e);
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
        try {
            return openOn(options, file, ffm, wrapBackend);
        } catch (RuntimeException e) {
            closeQuietly(file);
            throw e;
        }
    }

    /** Why the io_uring backend cannot run in this JVM, or empty if it can. */
    static Optional<String> uringUnavailableReason() {
        return unavailableReason(IO_URING);
    }

    /** Why the pwritev2 backend cannot run in this JVM, or empty if it can. */
    static Optional<String> pwriteUnavailableReason() {
        return unavailableReason(PWRITEV2);
    }

    private static Optional<String> unavailableReason(String name) {
        WriteBackendFactory f = findProvider(name);
        return f == null ? Optional.of(needsJdk22()) : f.unavailableReason();
    }

    private static String needsJdk22() {
        return "needs JDK 22+ (running " + Runtime.version().feature() + ")";
    }

    private static WriteBackendFactory findProvider(String name) {
        if (Runtime.version().feature() < 22) {
            return null; // the provider classes are compiled for 22 and must not even be loaded
        }
        for (WriteBackendFactory f : ServiceLoader.load(WriteBackendFactory.class, WalOpener.class.getClassLoader())) {
            if (name.equals(f.name())) {
                return f;
            }
        }
        return null;
    }

    private static BlockDeviceWal openOn(WalOptions options, WalFile file, WriteBackendFactory ffm,
            UnaryOperator<WriteBackend> wrapBackend) {
        Path path = file.path();
        WriteBackend backend = null;
        try {
            WalHeader h = HeaderSlots.read(file, options);
            int bs = h.blockSize();
            long dataOffset = WalHeaderDescriptor.dataOffset(bs);
            int maxRecord = (int) Math.min(options.writeBufferBytes() - 2L * bs - 2L * HEADER_BYTES,
                    (h.capacity() - bs) / 2 - 2L * HEADER_BYTES);
            RecordScanner.Params params = new RecordScanner.Params(bs, h.capacity(), dataOffset, h.trimPosition(),
                    h.generation(), h.generationStart(), h.closedEnd());
            boolean durable = !options.unsafeSkipSync();
            if (ffm != null) {
                backend = ffm.open(path, options.maxInFlightWrites(), durable);
            } else {
                backend = new ChannelWriteBackend(file.channel(), file.direct() ? FILECHANNEL_DIRECT
                        : FILECHANNEL_BUFFERED, durable, options.maxInFlightWrites());
            }
            backend = wrapBackend.apply(backend);
            BlockDeviceWal wal = new BlockDeviceWal(options, file, backend, h, params, maxRecord);
            LOG.info("WAL open: file={} backend={} blockSize={} capacity={} trimPosition={} durable={} maxInFlight={}"
                    + " callerWrites={}", path, backend.name(), bs, h.capacity(), h.trimPosition(), durable,
                    backend.maxInFlight(), wal.callerWritesEnabled());
            return wal;
        } catch (IOException e) {
            closeQuietly(backend);
            throw new StorageException("WAL open failed: file=" + path + " error=" + e, false, e);
        } catch (RuntimeException e) {
            closeQuietly(backend);
            throw e;
        }
    }

    static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            LOG.warn("WAL close failed: resource={} error={}", c, e.toString());
        }
    }
}
