package dev.strata.core.support;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * A bounded wait for a condition that other threads make true and then signal: an append waiting
 * for the uploader to free room in the LogCache or the WAL, close waiting for appends in flight,
 * compaction waiting for an upload or users' reads to finish. The condition is state the caller
 * owns (an atomic, a volatile); whoever changes it calls {@link #signalAll()} afterwards. Callers
 * hold none of their own locks while waiting.
 *
 * <p>Thread-safe.
 */
public final class WaitSignal {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition freed = lock.newCondition();

    /** Wakes every waiter (the condition may have become true). */
    public void signalAll() {
        lock.lock();
        try {
            freed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until {@code condition} is true or {@code timeoutNanos} passed.
     *
     * @return whether the condition is true
     */
    public boolean await(BooleanSupplier condition, long timeoutNanos) {
        if (condition.getAsBoolean()) {
            return true;
        }
        long remaining = timeoutNanos;
        lock.lock();
        try {
            while (!condition.getAsBoolean()) {
                if (remaining <= 0) {
                    return false;
                }
                remaining = freed.awaitNanos(remaining);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return condition.getAsBoolean();
        } finally {
            lock.unlock();
        }
    }

    public static long nanos(java.time.Duration d) {
        return TimeUnit.NANOSECONDS.convert(d);
    }
}
