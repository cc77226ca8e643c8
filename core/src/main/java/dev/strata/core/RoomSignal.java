package dev.strata.core;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * Lets an append wait, for a bounded time, until the uploader frees room (in the LogCache or the
 * WAL), instead of failing at once: the uploader signals after every commit. Waiting happens before
 * the append takes its stream's lock, so no lock is held while waiting.
 *
 * <p>Thread-safe.
 */
final class RoomSignal {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition freed = lock.newCondition();

    /** Wakes every waiting append (room may have been freed). */
    void signalFreed() {
        lock.lock();
        try {
            freed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until {@code hasRoom} is true or {@code timeoutNanos} passed.
     *
     * @return whether there is room
     */
    boolean awaitRoom(BooleanSupplier hasRoom, long timeoutNanos) {
        if (hasRoom.getAsBoolean()) {
            return true;
        }
        long remaining = timeoutNanos;
        lock.lock();
        try {
            while (!hasRoom.getAsBoolean()) {
                if (remaining <= 0) {
                    return false;
                }
                remaining = freed.awaitNanos(remaining);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return hasRoom.getAsBoolean();
        } finally {
            lock.unlock();
        }
    }

    static long nanos(java.time.Duration d) {
        return TimeUnit.NANOSECONDS.convert(d);
    }
}
