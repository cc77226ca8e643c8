package dev.strata.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.strata.core.support.ThreadScheduling;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * {@link CpuPriority#applyToCurrentThread()} against what the kernel reports for the thread. Each
 * case runs on a fresh thread, since a lowered priority cannot always be raised again. The build
 * runs this class on the JDK that runs Maven (17 in CI: the calls are unavailable, which one case
 * checks) and on its toolchain JDK 22+ (execution {@code test-toolchain-jdk}), where they work.
 */
class CpuPriorityTest {

    @Test
    void lowSetsNiceTenForTheCallingThreadOnly() throws Exception {
        assumeTrue(ThreadScheduling.available(), "needs JDK 22+ with native access on Linux");
        ThreadStat before = ThreadStat.current();
        ThreadStat after = onNewThread(() -> {
            assertThat(CpuPriority.LOW.applyToCurrentThread()).isTrue();
            return ThreadStat.current();
        });
        assertThat(after.nice()).as("10, or what the thread inherited if lower").isEqualTo(Math.max(10, before.nice()));
        assertThat(after.policy()).isEqualTo(ThreadStat.SCHED_OTHER);
        assertThat(ThreadStat.current()).as("the test's own thread is untouched").isEqualTo(before);
    }

    @Test
    void idleSetsTheIdlePolicy() throws Exception {
        assumeTrue(ThreadScheduling.available(), "needs JDK 22+ with native access on Linux");
        ThreadStat after = onNewThread(() -> {
            assertThat(CpuPriority.IDLE.applyToCurrentThread()).isTrue();
            return ThreadStat.current();
        });
        assertThat(after.policy()).isEqualTo(ThreadStat.SCHED_IDLE);
    }

    @Test
    void normalRestoresALoweredThreadOnlyWithThePrivilegeToRaiseIt() throws Exception {
        assumeTrue(ThreadScheduling.available(), "needs JDK 22+ with native access on Linux");
        boolean privileged = ThreadStat.canRaisePriority();
        ThreadStat[] seen = onNewThread(() -> {
            assertThat(CpuPriority.IDLE.applyToCurrentThread()).isTrue();
            boolean restored = CpuPriority.NORMAL.applyToCurrentThread();
            assertThat(restored).as("restored (CAP_SYS_NICE: %s)", privileged).isEqualTo(privileged);
            ThreadStat idle = ThreadStat.current();
            assertThat(CpuPriority.LOW.applyToCurrentThread()).as("leaving SCHED_IDLE for nice 10").isEqualTo(privileged);
            return new ThreadStat[] {idle, ThreadStat.current()};
        });
        if (privileged) {
            assertThat(seen[0].policy()).isEqualTo(ThreadStat.SCHED_OTHER);
            assertThat(seen[0].nice()).isZero();
            assertThat(seen[1].nice()).isEqualTo(10);
        } else {
            assertThat(seen[0].policy()).as("a refused call leaves the thread as it was").isEqualTo(ThreadStat.SCHED_IDLE);
        }
    }

    @Test
    void withoutTheCallsNothingChangesAndTheCallSaysSo() throws Exception {
        assumeTrue(!ThreadScheduling.available(), "this JVM can set priorities (the other cases cover it)");
        assumeTrue(System.getProperty("os.name", "").startsWith("Linux"), "reads /proc");
        ThreadStat before = ThreadStat.current(); // a new thread inherits its creator's
        ThreadStat after = onNewThread(() -> {
            assertThat(CpuPriority.IDLE.applyToCurrentThread()).isFalse();
            assertThat(CpuPriority.LOW.applyToCurrentThread()).isFalse();
            return ThreadStat.current();
        });
        assertThat(after.policy()).isEqualTo(before.policy());
        assertThat(after.nice()).isEqualTo(before.nice());
    }

    @Test
    void parseTakesAnyCaseAndNamesTheChoicesWhenWrong() {
        assertThat(CpuPriority.parse("Idle")).isEqualTo(CpuPriority.IDLE);
        assertThat(CpuPriority.parse("low")).isEqualTo(CpuPriority.LOW);
        assertThat(CpuPriority.parse("NORMAL")).isEqualTo(CpuPriority.NORMAL);
        assertThatThrownBy(() -> CpuPriority.parse("nice")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("must be normal, low or idle, got 'nice'");
    }

    private static <T> T onNewThread(Supplier<T> body) throws Exception {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                result.complete(body.get());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        }, "cpu-priority-test");
        t.start();
        return result.get(30, TimeUnit.SECONDS);
    }
}
