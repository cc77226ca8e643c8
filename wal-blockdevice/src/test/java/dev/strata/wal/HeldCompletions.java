package dev.strata.wal;

import dev.strata.wal.spi.WriteBackend;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;

/**
 * Wraps a WAL's write backend so that a test decides when the WAL learns that a write completed:
 * while held, writes reach the device as usual but their completions wait in a queue, so the WAL
 * keeps them in flight (not durable, not acknowledged). A copy of the file taken then is what a
 * crash with those writes in flight leaves behind. No sleeps: {@link #awaitOnDevice} blocks until
 * the device finished the writes submitted so far.
 *
 * <p>Use: {@code BlockDeviceWal.open(options, held::wrap)}; {@link #hold()}; append without
 * awaiting (at most {@code maxInFlightWrites} writes get submitted); {@link #awaitOnDevice()}; copy
 * the file; {@link #release()}. Shipped in the test-jar: the engine's tests hold a WAL's write
 * completions through {@code Strata.Builder#walOpener} and {@link #open}.
 */
public final class HeldCompletions {

    private final Object lock = new Object();
    private final Semaphore onDevice = new Semaphore(0);
    private boolean holding; // guarded by: lock
    private int submittedWhileHeld; // guarded by: lock
    private final List<Runnable> held = new ArrayList<>(); // guarded by: lock

    /** Opens the WAL at {@code options.path()} with its completions under this object's control. */
    public BlockDeviceWal open(WalOptions options) {
        return BlockDeviceWal.open(options, this::wrap);
    }

    WriteBackend wrap(WriteBackend delegate) {
        return new WriteBackend() {
            @Override
            public String name() {
                return delegate.name();
            }

            @Override
            public int maxInFlight() {
                return delegate.maxInFlight();
            }

            @Override
            public void submit(long offset, ByteBuffer src, Completion completion) {
                boolean hold;
                synchronized (lock) {
                    hold = holding;
                    if (hold) {
                        submittedWhileHeld++;
                    }
                }
                if (!hold) {
                    delegate.submit(offset, src, completion);
                    return;
                }
                delegate.submit(offset, src, (written, error) -> {
                    boolean stillHolding;
                    synchronized (lock) {
                        stillHolding = holding;
                        if (stillHolding) {
                            held.add(() -> completion.completed(written, error));
                        }
                    }
                    onDevice.release();
                    if (!stillHolding) {
                        completion.completed(written, error); // released before the device finished
                    }
                });
            }

            @Override
            public void close() throws IOException {
                delegate.close();
            }
        };
    }

    /** From now on, completions wait for {@link #release()}. */
    public void hold() {
        synchronized (lock) {
            holding = true;
            submittedWhileHeld = 0;
        }
    }

    /** Writes submitted since {@link #hold()}. */
    int submittedWhileHeld() {
        synchronized (lock) {
            return submittedWhileHeld;
        }
    }

    /** Blocks until every write submitted since {@link #hold()} has reached the device. */
    void awaitOnDevice() {
        onDevice.acquireUninterruptibly(submittedWhileHeld());
        onDevice.release(submittedWhileHeld());
    }

    /** Stops holding and reports the held completions to the WAL, in the order they happened. */
    public void release() {
        List<Runnable> run;
        synchronized (lock) {
            holding = false;
            run = new ArrayList<>(held);
            held.clear();
        }
        onDevice.drainPermits();
        run.forEach(Runnable::run);
    }
}
