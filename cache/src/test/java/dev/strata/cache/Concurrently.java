package dev.strata.cache;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/** Runs test bodies on several threads released together, and surfaces what they threw. */
final class Concurrently {
    private Concurrently() {
    }

    /** A thread's work; may throw anything (collected, not lost). */
    interface Body {
        void run() throws Exception;
    }

    /** A thread's work, given its index. */
    interface IndexedBody {
        void run(int thread) throws Exception;
    }

    /** Wraps {@code body}: waits for {@code start}, then runs it, adding whatever it throws to {@code errors}. */
    static Runnable guarded(List<Throwable> errors, CountDownLatch start, Body body) {
        return () -> {
            try {
                start.await();
                body.run();
            } catch (Throwable e) {
                synchronized (errors) {
                    errors.add(e);
                }
            }
        };
    }

    /**
     * Runs {@code body} on {@code threads} threads released at once, waits for all, and fails with
     * the first error any of them threw.
     */
    static void run(int threads, IndexedBody body) throws InterruptedException {
        List<Throwable> errors = new ArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> started = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            Thread th = new Thread(guarded(errors, start, () -> body.run(thread)), "concurrently-" + t);
            th.start();
            started.add(th);
        }
        start.countDown();
        for (Thread th : started) {
            th.join();
        }
        if (!errors.isEmpty()) {
            AssertionError failure = new AssertionError("a thread failed: " + errors.get(0), errors.get(0));
            errors.subList(1, errors.size()).forEach(failure::addSuppressed);
            throw failure;
        }
    }
}
