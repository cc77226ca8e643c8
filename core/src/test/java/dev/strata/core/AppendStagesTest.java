package dev.strata.core;

import static dev.strata.testkit.Futures.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.FetchResult;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link AppendStageListener}: each acknowledged append's stage timestamps, once, in order, on the callback thread. */
class AppendStagesTest {
    @TempDir
    Path dir;

    /** One report, with the thread it arrived on and whether the batch was fetchable then. */
    record Report(long streamId, long baseOffset, long called, long handed, long durable, long visible, long completing,
            String thread) {
    }

    /** Collects reports; waits for a count. */
    static final class Collector implements AppendStageListener {
        final List<Report> reports = new ArrayList<>();

        @Override
        public synchronized void onAppend(long streamId, long baseOffset, long calledNanos, long handedToWalNanos,
                long durableNanos, long visibleNanos, long completingNanos) {
            reports.add(new Report(streamId, baseOffset, calledNanos, handedToWalNanos, durableNanos, visibleNanos,
                    completingNanos, Thread.currentThread().getName()));
            notifyAll();
        }

        synchronized List<Report> await(int count) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (reports.size() < count && System.nanoTime() < deadline) {
                wait(100);
            }
            assertThat(reports).as("reports").hasSize(count);
            return List.copyOf(reports);
        }
    }

    private static void assertOrdered(List<Report> reports, long before, long after) {
        for (Report r : reports) {
            assertThat(r.called()).as("called after the test's first stamp").isGreaterThanOrEqualTo(before);
            assertThat(r.handed()).as("handed to the WAL after the call").isGreaterThanOrEqualTo(r.called());
            assertThat(r.durable()).as("durable after the hand-off").isGreaterThanOrEqualTo(r.handed());
            assertThat(r.visible()).as("visible after durable").isGreaterThanOrEqualTo(r.durable());
            assertThat(r.completing()).as("completing after visible").isGreaterThanOrEqualTo(r.visible());
            assertThat(r.completing()).as("before the test's last stamp").isLessThanOrEqualTo(after);
        }
    }

    @Test
    void everyAcknowledgedAppendIsReportedOnceInOffsetOrderWithOrderedTimestamps() throws Exception {
        Collector stages = new Collector();
        ExecutorService callbacks = Executors.newFixedThreadPool(2, r -> new Thread(r, "test-callback"));
        try (DurableStreamStore store = StoreFixtures.small(dir).appendStageListener(stages).callbackExecutor(callbacks)
                .build()) {
            Stream a = await(store.createStream(StreamOptions.defaults()));
            Stream b = await(store.createStream(StreamOptions.defaults()));
            long before = System.nanoTime();
            List<CompletableFuture<?>> appends = new ArrayList<>();
            for (int i = 0; i < 100; i++) { // many in flight: group commit and out-of-call completions
                appends.add(a.append(RecordBatch.of(2, 0, ByteBuffer.wrap(new byte[100]))));
                appends.add(b.append(RecordBatch.of(1, 0, ByteBuffer.wrap(new byte[300]))));
            }
            CompletableFuture.allOf(appends.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            List<Report> reports = stages.await(200);
            long after = System.nanoTime();
            assertOrdered(reports, before, after);
            assertThat(reports).allSatisfy(r -> assertThat(r.thread()).isEqualTo("test-callback"));
            for (Stream s : List.of(a, b)) {
                List<Long> offsets = reports.stream().filter(r -> r.streamId() == s.id()).map(Report::baseOffset).toList();
                long step = s == a ? 2 : 1;
                assertThat(offsets).hasSize(100);
                for (int i = 0; i < offsets.size(); i++) {
                    assertThat(offsets.get(i)).as("offset order of stream %d", s.id()).isEqualTo(i * step);
                }
            }
            // what the listener calls visible is fetchable
            Report last = reports.get(reports.size() - 1);
            Stream s = last.streamId() == a.id() ? a : b;
            try (FetchResult r = await(s.fetch(last.baseOffset(), Long.MAX_VALUE, 1 << 20))) {
                assertThat(r.batches()).isNotEmpty();
            }
        } finally {
            callbacks.shutdownNow();
        }
    }

    @Test
    void aWalThatWritesOnTheCallersThreadStillReportsTheWalStageAfterTheHandOff() throws Exception {
        Collector stages = new Collector();
        try (DurableStreamStore store = StoreFixtures.small(dir).walCallerWritesWhenIdle(true).appendStageListener(stages)
                .build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            long before = System.nanoTime();
            for (int i = 0; i < 20; i++) { // one at a time: the WAL is idle at each call
                await(s.append(RecordBatch.of(1, 0, ByteBuffer.wrap(new byte[64]))));
            }
            List<Report> reports = stages.await(20);
            assertOrdered(reports, before, System.nanoTime());
            assertThat(reports).as("the WAL's write and sync are in the WAL stage, not before the hand-off")
                    .anySatisfy(r -> assertThat(r.durable() - r.handed()).isPositive());
        }
    }

    /**
     * A lone appender whose WAL writes on its thread gets its acknowledgement on that thread too, with
     * no hop to the completion lane: the append's future is complete when append returns, and the
     * listener (run where the future is completed) runs on the appending thread. Before, every
     * completion went through the lane, another thread. Needs the io_uring (AUTO) or pwritev2 WAL backend (JDK 22+):
     * skipped on JDK 17; the build runs this class a second time on its toolchain JDK (core's pom,
     * execution {@code test-toolchain-jdk}).
     */
    @Test
    void aLoneAppenderWhoseWalWritesOnItsThreadIsAcknowledgedOnItsThread() throws Exception {
        List<Thread> completingThreads = java.util.Collections.synchronizedList(new ArrayList<>());
        try (DurableStreamStore store = StoreFixtures.small(dir).walCallerWritesWhenIdle(true)
                .appendStageListener((id, base, c, h, d, v, done) -> completingThreads.add(Thread.currentThread()))
                .build()) {
            org.junit.jupiter.api.Assumptions.assumeTrue(List.of("pwritev2", "io_uring").contains(store.walBackend()),
                    "walCallerWritesWhenIdle takes effect with the pwritev2 and io_uring backends (JDK 22+), this WAL's is "
                            + store.walBackend());
            Stream s = await(store.createStream(StreamOptions.defaults()));
            int doneOnReturn = 0;
            for (int i = 0; i < 50; i++) { // one at a time: the WAL and the stream's completions are idle at each call
                CompletableFuture<dev.strata.api.AppendResult> f = s.append(RecordBatch.of(1, 0, ByteBuffer.wrap(new byte[64])));
                if (f.isDone()) {
                    doneOnReturn++;
                }
                assertThat(await(f).baseOffset()).isEqualTo(i);
            }
            long onCaller = completingThreads.stream().filter(t -> t == Thread.currentThread()).count();
            assertThat(onCaller).as("acknowledged on the appending thread, of 50").isGreaterThan(25);
            assertThat(doneOnReturn).as("complete when append returned, of 50").isGreaterThan(25);
        }
    }

    @Test
    void aListenerThatThrowsDoesNotFailAppends() {
        try (DurableStreamStore store = StoreFixtures.small(dir).appendStageListener((id, base, c, h, d, v, done) -> {
            throw new IllegalStateException("listener bug");
        }).build()) {
            Stream s = await(store.createStream(StreamOptions.defaults()));
            for (int i = 0; i < 5; i++) {
                assertThat(await(s.append(RecordBatch.of(1, 0, ByteBuffer.wrap(new byte[10])))).baseOffset()).isEqualTo(i);
            }
        }
    }

    @Test
    void theSettingRefusesNull() {
        assertThatThrownBy(() -> Strata.builder().appendStageListener(null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("appendStageListener");
    }
}
