package dev.strata.kafka.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link DelayedFetch} hands exactly one outcome to its caller and closes every other one (outcomes
 * hold the log's fetch buffers). Reads complete when the test completes their futures; the expiry
 * runs when the test runs the captured task: no timing.
 */
class DelayedFetchTest {

    /** An outcome that counts its closes. */
    private static final class Outcome implements DelayedFetch.ReadOutcome {
        final int bytes;
        int closes;

        Outcome(int bytes) {
            this.bytes = bytes;
        }

        @Override
        public int bytes() {
            return bytes;
        }

        @Override
        public boolean hasError() {
            return false;
        }

        @Override
        public void close() {
            closes++;
        }
    }

    /** Captures the expiry task instead of running it; the test runs it. */
    private static final class CapturingScheduler extends ScheduledThreadPoolExecutor {
        Runnable expiry;

        CapturingScheduler() {
            super(1);
        }

        @Override
        public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
            expiry = command;
            return super.schedule(() -> { }, 1, TimeUnit.DAYS); // only cancelled
        }
    }

    private final CapturingScheduler scheduler = new CapturingScheduler();
    private final Partition partition = new Partition(new TopicPartition("t", 0), null);
    private final List<CompletableFuture<Outcome>> reads = new ArrayList<>();

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    private CompletableFuture<Outcome> start(int minBytes) {
        return DelayedFetch.run(() -> {
            CompletableFuture<Outcome> read = new CompletableFuture<>();
            reads.add(read);
            return read;
        }, minBytes, 60_000, List.of(partition), scheduler);
    }

    @Test
    void anOutcomeReplacedByANewerReadIsClosedAndTheAnswerIsNot() {
        CompletableFuture<Outcome> answer = start(10);
        Outcome first = new Outcome(5);
        reads.get(0).complete(first); // too few bytes: waits
        partition.appended(); // reads again
        Outcome second = new Outcome(5);
        reads.get(1).complete(second);
        assertThat(first.closes).as("replaced").isEqualTo(1);
        assertThat(answer).isNotDone();

        scheduler.expiry.run();
        assertThat(answer.join()).isSameAs(second);
        assertThat(second.closes).as("the caller's").isZero();
    }

    @Test
    void anOutcomeWithEnoughBytesIsTheAnswerAndTheOneBeforeIsClosed() {
        CompletableFuture<Outcome> answer = start(10);
        Outcome first = new Outcome(5);
        reads.get(0).complete(first);
        partition.appended();
        Outcome second = new Outcome(20);
        reads.get(1).complete(second);
        assertThat(answer.join()).isSameAs(second);
        assertThat(first.closes).isEqualTo(1);
        assertThat(second.closes).isZero();
        scheduler.expiry.run(); // a late expiry changes nothing
        assertThat(second.closes).isZero();
    }

    @Test
    void aFailedReadClosesTheLastOutcome() {
        CompletableFuture<Outcome> answer = start(10);
        Outcome first = new Outcome(5);
        reads.get(0).complete(first);
        partition.appended();
        reads.get(1).completeExceptionally(new IllegalStateException("injected"));
        assertThat(answer).isCompletedExceptionally();
        assertThat(first.closes).isEqualTo(1);
    }
}
