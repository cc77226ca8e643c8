package dev.strata.core.append;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Per-stream completion lanes: order, and no task lost when the shared executor is shut down. */
class SerialExecutorTest {

    @Test
    void tasksRunOneAtATimeInSubmissionOrder() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            SerialExecutor lane = new SerialExecutor(pool);
            List<Integer> seen = new CopyOnWriteArrayList<>();
            CountDownLatch done = new CountDownLatch(1000);
            for (int i = 0; i < 1000; i++) {
                int n = i;
                lane.execute(() -> {
                    seen.add(n);
                    done.countDown();
                });
            }
            assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(seen).hasSize(1000).isSorted();
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Regression (RELIABILITY bug 7): closing the store shut the callback pool down while the WAL
     * still delivered completions of appends in flight; the lane's hand-off was refused and the
     * append's future never completed. Now the task runs on the submitting thread.
     */
    @Test
    void tasksSubmittedAfterTheSharedExecutorShutDownStillRunInOrder() {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        pool.shutdown();
        SerialExecutor lane = new SerialExecutor(pool);
        List<Integer> seen = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 10; i++) {
            int n = i;
            lane.execute(() -> seen.add(n));
        }
        assertThat(seen).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
    }
}
