/**
 * The write-ahead log on a block device or preallocated file.
 *
 * <p>Owns: the WAL on-device formats ({@link dev.strata.wal.WalHeaderDescriptor header slots},
 * {@link dev.strata.wal.WalRecordDescriptor records}), group commit, durability (O_DIRECT +
 * fdatasync or RWF_DSYNC), space accounting and backpressure, the recovery scan, and the choice of
 * I/O backend, and who may open a WAL: {@link dev.strata.wal.OwnershipLock} (one open WAL per file or
 * device, across threads and processes of a host; also used by the engine for its data directory).
 * Public: {@link dev.strata.wal.BlockDeviceWal} (implements {@link dev.strata.wal.api.WriteAheadLog},
 * the WAL SPI the engine codes against, defined with its value types in module wal-api),
 * {@link dev.strata.wal.WalOptions}, {@link dev.strata.wal.OwnershipLock},
 * {@link dev.strata.wal.WalInspector} (a read-only view for tools: header slots, records, the scan's
 * end, no lock taken) and the value types they return. Everything else is package-private
 * ({@code BlockDeviceWalRecovery} is its {@link dev.strata.wal.api.WalRecovery}).
 *
 * <p>Recovery: the scan follows the record chain from the trim point. Where it breaks (zeros, a
 * bad CRC, stale bytes), it looks ahead for intact records, and uses the durable mark every record
 * carries (the end of the durable prefix when its write was submitted, see
 * {@link dev.strata.wal.WalRecordDescriptor}) to tell a torn tail (never acknowledged: the scan
 * ends there) from acknowledged data lost inside the log (reported in
 * {@link dev.strata.wal.api.RecoveryReport#lostRegions()}; the scan continues after it and returns the
 * acknowledged records that follow). New writes never go over a lost region: after one the scan
 * could not get past (damage in the last writes, proven by the clean close), the next generation
 * starts after it, so the next scan finds the same loss until the owner trims past it. Deciding
 * what to do about lost data is the engine's job.
 *
 * <p>Does not own: the WAL contract and its contract kit (wal-api), what a record means (the engine
 * encodes its batches into opaque bodies), when to trim (the engine trims after upload), or retrying
 * (a failed WAL stays failed; the engine reopens it). Ownership is by the lock, not by node-epoch
 * fencing: {@link dev.strata.wal.BlockDeviceWal#assignNodeEpoch} only records the epoch in the header.
 *
 * <p>Backends, chosen at open and reported by {@link dev.strata.wal.api.WriteAheadLog#backend()}:
 * <ol>
 *   <li>{@code io_uring} (AUTO's choice): our own thin binding through the FFM API ({@code dev.strata.wal.uring},
 *       JDK 22+), one {@code IORING_OP_WRITE} with {@code RWF_DSYNC} per group, several in flight.
 *       Chosen by evidence in the I/O measurements (docs/measurements/2026-11-21-io-uring-and-o-direct.md): no maintained Java library does O_DIRECT file writes with a
 *       sync (Netty's io_uring is a network transport; jasyncfio hung with O_DIRECT, and is
 *       unmaintained), JNI would mean shipping per-architecture {@code .so} files, and the FFM
 *       binding is about 300 lines of plain Java. {@code RWF_DSYNC} rather than a linked
 *       {@code WRITE -> FSYNC}: the linked fsync is punted to an io-wq worker, which measured slower
 *       per 4 KiB commit (I/O measurements §6b).</li>
 *   <li>{@code pwritev2} (explicit choice, {@code Backend.PWRITE}, JDK 22+ with native access): one
 *       synchronous {@code pwritev2} with {@code RWF_DSYNC} per group on one writer thread per write
 *       in flight, through the same FFM binding. On ext4 over a device without FUA, io_uring's
 *       asynchronous {@code RWF_DSYNC} write is finished by the kernel's per-CPU {@code dio}
 *       workqueue on the CPU that took the device's interrupt, so a busy thread on that CPU delays
 *       every acknowledgement; a synchronous write flushes from its own thread. Measured on a 2-vCPU
 *       VM: lower append p50, p99 about half at light load but worse with the CPUs saturated, and
 *       6-8% less peak throughput (thread hand-offs), so not AUTO's choice (docs/measurements/2026-12-08-wal-completion-latency.md).</li>
 *   <li>{@code filechannel-direct}: {@code FileChannel} with {@code ExtendedOpenOption.DIRECT} and
 *       {@code force(false)} (fdatasync) per write, one thread per write in flight: JDK 17-21, or
 *       where io_uring is unavailable (native access not enabled, kernel without io_uring).</li>
 *   <li>{@code filechannel-buffered}: the same without O_DIRECT, for filesystems that reject it
 *       (tmpfs on older kernels); still one fdatasync per write.</li>
 * </ol>
 *
 * <p>Java versions: the library baseline is JDK 17. The io_uring classes are compiled with
 * {@code --release 22} into the normal class output as <em>distinct</em> classes (not as a
 * multi-release override of a JDK 17 class), and are found with {@link java.util.ServiceLoader}
 * through {@link dev.strata.wal.spi.WriteBackendFactory} only when
 * {@code Runtime.version().feature() >= 22}, so JDK 17 never loads them. Distinct classes rather
 * than {@code META-INF/versions/22}: Surefire tests against {@code target/classes}, where
 * multi-release selection does not apply, so overriding classes would go untested. The backend
 * also requires native access ({@code --enable-native-access=ALL-UNNAMED}, or the jar manifest's
 * {@code Enable-Native-Access: ALL-UNNAMED} for an executable jar); without it the WAL falls back
 * to {@code filechannel-direct} and logs why, once.
 *
 * <p>Threads: an appending thread, or the backend thread reporting a completion, seals and
 * submits the next group when an in-flight slot is free; {@code strata-wal-N} writes headers
 * (trim), drains at close and submits under rate limits; {@code strata-wal-write-N-K} (pwritev2),
 * {@code strata-wal-io-N-K} (FileChannel) or {@code strata-wal-uring-N} (io_uring) run the I/O and
 * report completions. The thread
 * reporting a completion completes the futures itself, after releasing the WAL's lock (there is
 * no callback thread: callbacks must be short); with {@code callerWritesWhenIdle}, an
 * append finding no write in flight writes on its own thread (one {@code pwritev2} with
 * {@code RWF_DSYNC}, pwritev2 and io_uring backends) and is acknowledged before {@code append} returns:
 * the single-appender latency path has no thread wake-up at all.
 *
 * <p>Buffers: {@link dev.strata.wal.api.WriteAheadLog#append} takes ownership of the body and releases
 * it on every outcome, after copying it once into a pooled, block-aligned write buffer. Write
 * buffers are allocated at open ({@code maxInFlightWrites + 2} of {@code writeBufferBytes}) and
 * reused; none is allocated per append. Recovered bodies are new buffers owned by the caller.
 */
package dev.strata.wal;
