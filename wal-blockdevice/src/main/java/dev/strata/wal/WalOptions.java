package dev.strata.wal;

import dev.strata.wal.api.WriteAheadLog;
import java.nio.file.Path;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * Immutable configuration of a {@link BlockDeviceWal}, built by a validating {@link Builder}.
 * Defaults favour safety: durable writes, automatic backend choice.
 */
public final class WalOptions {

    /** Default ring size: room for seconds to minutes of appends before upload trims it. */
    public static final long DEFAULT_CAPACITY_BYTES = 1L << 30;
    /** Smallest ring accepted: a few groups of the smallest block size. */
    public static final long MIN_CAPACITY_BYTES = 64L << 10;
    /** Default size of one pooled write buffer, hence the largest single write. */
    public static final int DEFAULT_WRITE_BUFFER_BYTES = 1 << 20;
    /**
     * Default soft limit of one group commit: a write is sealed once it holds this much. 256 KiB
     * writes already run near the disk's sequential bandwidth (I/O measurements §6a), larger ones only add latency.
     */
    public static final int DEFAULT_GROUP_COMMIT_BYTES = 256 << 10;
    /** Default writes in flight: enough to overlap flushes; more only queues in the device. */
    public static final int DEFAULT_MAX_IN_FLIGHT_WRITES = 4;

    /** Which I/O backend to use. */
    public enum Backend {
        /** io_uring where the JDK (22+, native access) and kernel allow, else O_DIRECT FileChannel, else buffered. */
        AUTO,
        /** io_uring through FFM, asynchronous writes with {@code RWF_DSYNC}; opening fails if unavailable. */
        IO_URING,
        /**
         * {@code pwritev2} with {@code RWF_DSYNC} on an O_DIRECT descriptor through FFM (JDK 22+,
         * native access), one writer thread per write in flight; opening fails if unavailable. The
         * device flush runs in the writing thread rather than in the kernel's workqueue on the
         * interrupt CPU (io_uring's asynchronous path). Measured on 2 vCPUs (WAL measurements of
         * 2026-12-08): lower append p50 at every load, p99 about half at light load, similar at half
         * load, worse with the CPUs saturated, and 6-8% less peak throughput.
         */
        PWRITE,
        /** FileChannel with O_DIRECT, one {@code force(false)} per write. */
        DIRECT,
        /** Buffered FileChannel with {@code force(false)}: for filesystems without O_DIRECT (tmpfs). */
        BUFFERED
    }

    private final Path path;
    private final long capacityBytes;
    private final Backend backend;
    private final boolean unsafeSkipSync;
    private final int writeBufferBytes;
    private final int groupCommitBytes;
    private final int maxInFlightWrites;
    private final long maxWriteOpsPerSecond;
    private final long maxWriteBytesPerSecond;
    private final OptionalLong nodeEpoch;
    private final boolean callerWritesWhenIdle;
    private final OwnershipLock ownershipLock;

    private WalOptions(Builder b) {
        this.path = b.path;
        this.capacityBytes = b.capacityBytes;
        this.backend = b.backend;
        this.unsafeSkipSync = b.unsafeSkipSync;
        this.writeBufferBytes = b.writeBufferBytes;
        this.groupCommitBytes = b.groupCommitBytes;
        this.ownershipLock = b.ownershipLock;
        this.maxInFlightWrites = b.maxInFlightWrites;
        this.maxWriteOpsPerSecond = b.maxWriteOpsPerSecond;
        this.maxWriteBytesPerSecond = b.maxWriteBytesPerSecond;
        this.nodeEpoch = b.nodeEpoch;
        this.callerWritesWhenIdle = b.callerWritesWhenIdle;
    }

    public static Builder builder(Path path) {
        return new Builder(path);
    }

    public Path path() {
        return path;
    }

    public long capacityBytes() {
        return capacityBytes;
    }

    public Backend backend() {
        return backend;
    }

    public boolean unsafeSkipSync() {
        return unsafeSkipSync;
    }

    /**
     * The WAL's ownership, taken by the caller before opening (see {@link Builder#ownershipLock}), or
     * null: the WAL then takes it itself.
     */
    public OwnershipLock ownershipLock() {
        return ownershipLock;
    }

    public int writeBufferBytes() {
        return writeBufferBytes;
    }

    public int groupCommitBytes() {
        return groupCommitBytes;
    }

    public int maxInFlightWrites() {
        return maxInFlightWrites;
    }

    public long maxWriteOpsPerSecond() {
        return maxWriteOpsPerSecond;
    }

    public long maxWriteBytesPerSecond() {
        return maxWriteBytesPerSecond;
    }

    public OptionalLong nodeEpoch() {
        return nodeEpoch;
    }

    /** Whether an append finding no write in flight writes on the calling thread (see the builder). */
    public boolean callerWritesWhenIdle() {
        return callerWritesWhenIdle;
    }

    @Override
    public String toString() {
        return "WalOptions{path=" + path + " capacityBytes=" + capacityBytes + " backend=" + backend
                + " unsafeSkipSync=" + unsafeSkipSync + " writeBufferBytes=" + writeBufferBytes + " groupCommitBytes="
                + groupCommitBytes + " maxInFlightWrites=" + maxInFlightWrites + " maxWriteOpsPerSecond="
                + maxWriteOpsPerSecond + " maxWriteBytesPerSecond=" + maxWriteBytesPerSecond + " callerWritesWhenIdle="
                + callerWritesWhenIdle + "}";
    }

    /** Validating builder; every setter checks its argument and names it in the message. Not thread-safe. */
    public static final class Builder {
        private final Path path;
        private long capacityBytes = DEFAULT_CAPACITY_BYTES;
        private Backend backend = Backend.AUTO;
        private boolean unsafeSkipSync;
        private int writeBufferBytes = DEFAULT_WRITE_BUFFER_BYTES;
        private int groupCommitBytes = DEFAULT_GROUP_COMMIT_BYTES;
        private int maxInFlightWrites = DEFAULT_MAX_IN_FLIGHT_WRITES;
        private long maxWriteOpsPerSecond;
        private long maxWriteBytesPerSecond;
        private OptionalLong nodeEpoch = OptionalLong.empty();
        private boolean callerWritesWhenIdle;
        private OwnershipLock ownershipLock;

        private Builder(Path path) {
            this.path = Objects.requireNonNull(path, "path");
        }

        /**
         * Data ring size of a WAL file created by this open (a multiple of 4096, at least
         * {@link #MIN_CAPACITY_BYTES}). An existing WAL keeps the capacity in its header; a raw
         * block device uses its whole size.
         */
        public Builder capacityBytes(long bytes) {
            requireArgument(bytes >= MIN_CAPACITY_BYTES && bytes % 4096 == 0,
                    "capacityBytes must be a multiple of 4096 and >= " + MIN_CAPACITY_BYTES + ", got " + bytes);
            this.capacityBytes = bytes;
            return this;
        }

        public Builder backend(Backend backend) {
            this.backend = Objects.requireNonNull(backend, "backend");
            return this;
        }

        /**
         * UNSAFE, for benchmarks only: data writes are not synced (no fdatasync, no RWF_DSYNC), so
         * an acknowledged record can be lost on power failure or a host crash (it survives a
         * process crash). Header writes are still synced.
         */
        public Builder unsafeSkipSync(boolean skip) {
            this.unsafeSkipSync = skip;
            return this;
        }

        /** Size of each pooled write buffer (power of two, 64 KiB..64 MiB); bounds the largest record. */
        public Builder writeBufferBytes(int bytes) {
            requireArgument(WalMath.isPowerOfTwo(bytes) && bytes >= (64 << 10) && bytes <= (64 << 20),
                    "writeBufferBytes must be a power of two in [65536, 67108864], got " + bytes);
            this.writeBufferBytes = bytes;
            return this;
        }

        /** Soft limit of one group commit write (>= 4096; at most writeBufferBytes, checked at build). */
        public Builder groupCommitBytes(int bytes) {
            requireArgument(bytes >= 4096, "groupCommitBytes must be >= 4096, got " + bytes);
            this.groupCommitBytes = bytes;
            return this;
        }

        /** Writes in flight at once (1..64); the FileChannel backends use one thread per write. */
        public Builder maxInFlightWrites(int writes) {
            requireArgument(writes >= 1 && writes <= 64, "maxInFlightWrites must be in [1, 64], got " + writes);
            this.maxInFlightWrites = writes;
            return this;
        }

        /** Token-bucket limit of write operations per second (0 = unlimited), to match a provisioned volume. */
        public Builder maxWriteOpsPerSecond(long ops) {
            requireArgument(ops >= 0, "maxWriteOpsPerSecond must be >= 0, got " + ops);
            this.maxWriteOpsPerSecond = ops;
            return this;
        }

        /** Token-bucket limit of written bytes per second (0 = unlimited). */
        public Builder maxWriteBytesPerSecond(long bytes) {
            requireArgument(bytes >= 0, "maxWriteBytesPerSecond must be >= 0, got " + bytes);
            this.maxWriteBytesPerSecond = bytes;
            return this;
        }

        /** Opaque value stored in the header at open; unset keeps the stored one (0 for a new WAL). */
        public Builder nodeEpoch(long epoch) {
            this.nodeEpoch = OptionalLong.of(epoch);
            return this;
        }

        /**
         * An append that finds no write in flight writes its group on the calling thread (one
         * synchronous O_DIRECT write with {@code RWF_DSYNC}) and completes the futures there before
         * {@code append} returns: no thread wake-up between the append and its acknowledgement, which
         * is what a lone appender waiting for each append pays for otherwise (two wake-ups per
         * append: the completion thread's and its own). Appends arriving meanwhile are grouped into the next write as usual, on the I/O
         * backend, and the appender then completes their futures too (in order) once its own write is
         * durable. Callbacks then also run on appending threads (see {@link WriteAheadLog}), so do
         * not append while holding a lock that callbacks take; a callback that appends makes the
         * appender that runs it wait for that append too. Used only by the pwritev2 and io_uring backends
         * (it needs a write that an interrupt cannot abort; a {@code FileChannel} closes on interrupt)
         * and only without rate limits; elsewhere it has no effect. Default: off.
         */
        public Builder callerWritesWhenIdle(boolean callerWrites) {
            this.callerWritesWhenIdle = callerWrites;
            return this;
        }

        /**
         * The WAL's {@link OwnershipLock#forWal ownership}, taken by the caller before it opens the WAL
         * (an engine takes it before any other side effect of its open, so that a refused open changes
         * nothing). The WAL owns it from then on: it releases it when it closes or when its open
         * fails. Default: none, and {@link BlockDeviceWal#open} takes the lock itself.
         */
        public Builder ownershipLock(OwnershipLock lock) {
            this.ownershipLock = Objects.requireNonNull(lock, "ownershipLock");
            return this;
        }

        /** @throws IllegalArgumentException if options contradict each other */
        public WalOptions build() {
            requireArgument(groupCommitBytes <= writeBufferBytes, "groupCommitBytes (" + groupCommitBytes
                    + ") must not exceed writeBufferBytes (" + writeBufferBytes + ")");
            requireArgument(ownershipLock == null || ownershipLock.isFor(path),
                    "ownershipLock holds " + (ownershipLock == null ? null : ownershipLock.target()) + ", not " + path);
            return new WalOptions(this);
        }

        private static void requireArgument(boolean ok, String message) {
            if (!ok) {
                throw new IllegalArgumentException(message);
            }
        }
    }
}
