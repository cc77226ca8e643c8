package dev.strata.wal.uring;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few libc entry points the io_uring backend needs, as FFM downcalls: raw {@code syscall}
 * (io_uring_setup / io_uring_enter), {@code mmap}, {@code munmap}, {@code open}, {@code close},
 * {@code strerror}. {@code errno} is captured per call into a per-thread segment (it is only
 * reliable that way). Thread-safe. Linux x86-64 / aarch64 syscall numbers for io_uring are the same
 * (425-427).
 */
final class LibC {
    static final long SYS_IO_URING_SETUP = 425;
    static final long SYS_IO_URING_ENTER = 426;

    static final int O_RDWR = 2;
    static final int O_DIRECT = 040000;
    static final int O_CLOEXEC = 02000000;
    static final int PROT_READ_WRITE = 3;
    static final int MAP_SHARED = 1;
    static final int MAP_POPULATE = 0x8000;
    static final int EINTR = 4;
    static final int EAGAIN = 11;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    // long syscall(long number, ...): variadic after the first argument; every argument passed as long
    private static final MethodHandle SYSCALL6 = LINKER.downcallHandle(find("syscall"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(1), CAPTURE_ERRNO);
    private static final MethodHandle MMAP = LINKER.downcallHandle(find("mmap"),
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG), CAPTURE_ERRNO);
    private static final MethodHandle MUNMAP = LINKER.downcallHandle(find("munmap"),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    // int open(const char *path, int flags, ...): variadic mode
    private static final MethodHandle OPEN = LINKER.downcallHandle(find("open"),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2), CAPTURE_ERRNO);
    private static final MethodHandle CLOSE = LINKER.downcallHandle(find("close"), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle STRERROR = LINKER.downcallHandle(find("strerror"),
            FunctionDescriptor.of(ADDRESS, JAVA_INT));

    // ssize_t pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags): glibc 2.26+
    private static final MethodHandle PWRITEV2 = LIBC.find("pwritev2")
            .map(s -> LINKER.downcallHandle(s, FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG,
                    JAVA_INT), CAPTURE_ERRNO))
            .orElse(null);
    private static final long IOVEC_BYTES = 16; // struct iovec { void *iov_base; size_t iov_len; } on 64-bit

    private static final ThreadLocal<MemorySegment> CAPTURED = ThreadLocal.withInitial(
            () -> Arena.ofAuto().allocate(CAPTURE));
    /** The one iovec of {@link #pwritev2}, per thread like {@link #CAPTURED}: no allocation per write. */
    private static final ThreadLocal<MemorySegment> IOVEC = ThreadLocal.withInitial(
            () -> Arena.ofAuto().allocate(IOVEC_BYTES, 8));

    private LibC() {
    }

    private static MemorySegment find(String name) {
        return LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc symbol not found: " + name));
    }

    /** Raw syscall; returns the result, or {@code -errno} on failure (kernel convention). */
    static long syscall(long number, long a, long b, long c, long d, long e, long f) {
        MemorySegment cap = CAPTURED.get();
        try {
            long r = (long) SYSCALL6.invokeExact(cap, number, a, b, c, d, e, f);
            return r == -1 ? -(int) ERRNO.get(cap, 0L) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** mmap of a file descriptor, sized; throws with errno on failure. */
    static MemorySegment mmap(long size, int fd, long offset) {
        MemorySegment cap = CAPTURED.get();
        try {
            MemorySegment m = (MemorySegment) MMAP.invokeExact(cap, MemorySegment.NULL, size, PROT_READ_WRITE,
                    MAP_SHARED | MAP_POPULATE, fd, offset);
            if (m.address() == -1L) {
                int errno = (int) ERRNO.get(cap, 0L);
                throw new IllegalStateException("mmap failed: size=" + size + " offset=" + offset + " errno=" + errno
                        + " " + strerror(errno));
            }
            return m.reinterpret(size); // restricted: needs native access
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static void munmap(MemorySegment m) {
        try {
            int ignored = (int) MUNMAP.invokeExact(m, m.byteSize());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Opens {@code file} for O_DIRECT reads and writes (close-on-exec); returns the descriptor.
     *
     * @throws IOException naming the file and the errno if open(2) fails
     */
    static int openDirect(java.nio.file.Path file) throws IOException {
        int fd = open(file.toString(), O_RDWR | O_DIRECT | O_CLOEXEC);
        if (fd < 0) {
            throw new IOException("open O_DIRECT failed: file=" + file + " errno=" + -fd + " " + strerror(-fd));
        }
        return fd;
    }

    /** open(2); returns the descriptor or {@code -errno}. */
    static int open(String path, int flags) {
        MemorySegment cap = CAPTURED.get();
        try (Arena a = Arena.ofConfined()) {
            int fd = (int) OPEN.invokeExact(cap, a.allocateFrom(path), flags, 0);
            return fd < 0 ? -(int) ERRNO.get(cap, 0L) : fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Whether this libc has {@code pwritev2}. */
    static boolean hasPwritev2() {
        return PWRITEV2 != null;
    }

    /** pwritev2(2) of {@code length} bytes at native {@code address}; returns bytes written or {@code -errno}. */
    static long pwritev2(int fd, long address, long length, long offset, int flags) {
        MemorySegment cap = CAPTURED.get();
        MemorySegment iov = IOVEC.get();
        try {
            iov.set(JAVA_LONG, 0, address);
            iov.set(JAVA_LONG, 8, length);
            long r = (long) PWRITEV2.invokeExact(cap, fd, iov, 1, offset, flags);
            return r < 0 ? -(int) ERRNO.get(cap, 0L) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@link #pwritev2} until all {@code length} bytes at {@code address} are written at {@code offset}
     * (retrying EINTR and EAGAIN, continuing after a partial write) or a call writes nothing (the
     * device gave up: the caller sees a short count). Returns the bytes written.
     *
     * @throws IOException on an errno, naming it, the range and what was written
     */
    static long pwriteFully(int fd, long address, int length, long offset, int flags) throws IOException {
        long written = 0;
        while (written < length) {
            long res = pwritev2(fd, address + written, length - written, offset + written, flags);
            if (res == -EINTR || res == -EAGAIN) {
                continue;
            }
            if (res < 0) {
                throw new IOException("pwritev2 failed: offset=" + offset + " length=" + length + " written=" + written
                        + " errno=" + -res + " " + strerror((int) -res));
            }
            if (res == 0) {
                break;
            }
            written += res;
        }
        return written;
    }

    static void close(int fd) {
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static String strerror(int errno) {
        try {
            return ((MemorySegment) STRERROR.invokeExact(errno)).reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }
}
