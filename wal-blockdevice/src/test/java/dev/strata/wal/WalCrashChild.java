package dev.strata.wal;

import dev.strata.wal.api.WalAppendResult;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;

/**
 * Child JVM of {@link WalCrashTest}: appends forever with several appends in flight, printing one
 * line per acknowledged record ({@code ACK position nextPosition seed length}) and per trim request
 * ({@code TRIM position}) before the trim is issued, until the parent kills it with SIGKILL.
 * Arguments: WAL file, backend, seed.
 */
public final class WalCrashChild {
    private WalCrashChild() {
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        WalOptions.Backend backend = WalOptions.Backend.valueOf(args[1]);
        long seed = Long.parseLong(args[2]);
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false);
        boolean callerWrites = args.length > 3 && Boolean.parseBoolean(args[3]);
        BlockDeviceWal wal = BlockDeviceWal.open(WalTesting.options(file, backend).capacityBytes(512 << 10)
                .callerWritesWhenIdle(callerWrites).build());
        long recoveredEnd = wal.recoveryReport().endPosition();
        out.println("OPEN " + wal.backend() + " " + recoveredEnd);
        out.flush();
        java.util.concurrent.atomic.AtomicBoolean recoveredTrimmed = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.locks.ReentrantLock printLock = new java.util.concurrent.locks.ReentrantLock(true);
        Semaphore inFlight = new Semaphore(16);
        ArrayDeque<Long> ackedNext = new ArrayDeque<>();
        // STUCK: no progress (an acknowledgement or a completed trim) for a minute while appends are refused
        java.util.concurrent.atomic.AtomicLong lastProgressNanos = new java.util.concurrent.atomic.AtomicLong(System.nanoTime());
        for (long i = 0; ; i++) {
            long bodySeed = seed * 1_000_000_000L + i;
            int length = 1 + (int) ((bodySeed * 2654435761L) & 0x3FFF);
            inFlight.acquire();
            CompletableFuture<WalAppendResult> f = wal.append(WalTesting.buf(WalTesting.bytes(bodySeed, length)));
            f.whenComplete((r, e) -> {
                if (r != null) {
                    lastProgressNanos.set(System.nanoTime()); // progress: STUCK measures the time without it
                    printLock.lock(); // fair: the spinning refusal loop must not starve a callback thread
                    try {
                        out.println("ACK " + r.position() + " " + r.nextPosition() + " " + bodySeed + " " + length);
                        out.flush();
                        ackedNext.add(r.nextPosition());
                        if (ackedNext.size() > 12) {
                            long trimTo = 0;
                            for (int k = 0; k < 6; k++) {
                                trimTo = ackedNext.poll();
                            }
                            out.println("TRIM " + trimTo);
                            out.flush();
                            wal.trim(trimTo).thenRun(() -> lastProgressNanos.set(System.nanoTime()));
                        }
                    } finally {
                        printLock.unlock();
                    }
                } else if (!(e instanceof dev.strata.api.BackpressureException)) {
                    printLock.lock(); // fair: the spinning refusal loop must not starve a callback thread
                    try {
                        out.println("ERROR " + e);
                        out.flush();
                    } finally {
                        printLock.unlock();
                    }
                    Runtime.getRuntime().halt(2);
                } else {
                    printLock.lock(); // fair: the spinning refusal loop must not starve a callback thread
                    try {
                        // the ring can fill with acknowledged records that wait for a batch of 6 to be
                        // trimmed while every append is refused (no more acknowledgements): trim all but
                        // the newest two (the parent checks that the newest acknowledged records survive)
                        if (ackedNext.size() > 2) {
                            long trimTo = 0;
                            while (ackedNext.size() > 2) {
                                trimTo = ackedNext.poll();
                            }
                            out.println("TRIM " + trimTo);
                            out.flush();
                            wal.trim(trimTo).thenRun(() -> lastProgressNanos.set(System.nanoTime()));
                        } else if (recoveredTrimmed.compareAndSet(false, true)) {
                            // killed while the ring was full and its trim not yet durable, the last child
                            // left a full ring of records this child never acknowledged, so it could never
                            // trim them: trim what recovery found (the parent checked it already), once
                            out.println("TRIM " + recoveredEnd);
                            out.flush();
                            wal.trim(recoveredEnd).thenRun(() -> lastProgressNanos.set(System.nanoTime()));
                        }
                        if (System.nanoTime() - lastProgressNanos.get() > java.util.concurrent.TimeUnit.MINUTES.toNanos(1)) {
                            Path dumpFile = Path.of(System.getProperty("java.io.tmpdir"),
                                    "strata-wal-crash-stuck-" + ProcessHandle.current().pid() + ".txt");
                            out.println("STUCK " + e + " threads=" + dumpFile);
                            out.flush();
                            StringBuilder dump = new StringBuilder();
                            Thread.getAllStackTraces().forEach((t, st) -> {
                                dump.append(t.getName()).append(' ').append(t.getState()).append('\n');
                                for (StackTraceElement el : st) {
                                    dump.append("    ").append(el).append('\n');
                                }
                            });
                            try {
                                java.nio.file.Files.writeString(dumpFile, dump);
                            } catch (java.io.IOException ignored) {
                                // diagnostics only
                            }
                            Runtime.getRuntime().halt(3);
                        }
                    } finally {
                        printLock.unlock();
                    }
                }
                inFlight.release();
            });
            if (f.isCompletedExceptionally()) {
                // refused for room: wait for room (or 50 ms) instead of spinning, so the WAL's writer keeps a core
                wal.awaitRoom(length, java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(50));
            }
        }
    }
}
