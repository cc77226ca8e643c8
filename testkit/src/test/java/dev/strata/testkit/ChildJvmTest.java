package dev.strata.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChildJvmTest {
    @TempDir
    Path dir;

    @Test
    void killsWhenTheConditionHoldsAndStillReadsWhatTheChildWroteBefore() throws Exception {
        List<String> lines = new ArrayList<>();
        try (ChildJvm child = ChildJvm.of(EchoChild.class).jvmArgs("-Xmx64m").args("forever").start()) {
            child.readLinesKillingWhen(lines::add, () -> lines.size() >= 100);
            assertThat(child.killed()).isTrue();
            assertThat(child.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(child.process().exitValue()).as("128 + SIGKILL").isEqualTo(137);
        }
        assertThat(lines).hasSizeGreaterThanOrEqualTo(100);
        for (int i = 0; i < lines.size(); i++) {
            assertThat(lines.get(i)).as("lines in order, none lost up to the end of the output").isEqualTo("LINE " + i);
        }
    }

    @Test
    void aChildThatExitsByItselfGivesItsStatusStdoutAndStderr() throws Exception {
        try (ChildJvm child = ChildJvm.of(EchoChild.class).args("exit", "3")
                .stdoutTo(dir.resolve("out")).stderrTo(dir.resolve("err")).start()) {
            assertThat(child.waitForExit(Duration.ofMinutes(1))).isEqualTo(3);
            assertThat(child.stdout()).isEqualTo("LINE 0\nLINE 1\nLINE 2\n");
            assertThat(child.stderr()).isEqualTo("bye\n");
            assertThat(child.killed()).isFalse();
            assertThatThrownBy(child::readLine).isInstanceOf(IllegalStateException.class).hasMessageContaining("out");
        }
    }

    @Test
    void readingEndsWhenTheChildExits() throws Exception {
        List<String> lines = new ArrayList<>();
        try (ChildJvm child = ChildJvm.of(EchoChild.class).args("exit", "2").start()) {
            child.readLinesKillingWhen(lines::add, () -> false);
            assertThat(child.killed()).isFalse();
            assertThat(child.waitForExit(Duration.ofMinutes(1))).isEqualTo(2);
            assertThat(child.stderr()).as("stderr discarded").isEmpty();
            assertThatThrownBy(child::stdout).isInstanceOf(IllegalStateException.class);
        }
        assertThat(lines).containsExactly("LINE 0", "LINE 1");
    }

    @Test
    void aChildThatDoesNotExitInTimeFailsTheWaitAndIsKilled() throws Exception {
        try (ChildJvm child = ChildJvm.of(EchoChild.class).args("hang").stderrTo(dir.resolve("err")).start()) {
            assertThat(child.readLine()).isEqualTo("READY");
            assertThatThrownBy(() -> child.waitForExit(Duration.ofMillis(1))).isInstanceOf(AssertionError.class)
                    .hasMessageContaining("did not exit within PT0.001S");
            assertThat(child.killed()).isTrue();
            assertThat(child.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void theWatchdogEndsTheOutputOfAChildThatStoppedReporting() throws Exception {
        List<String> lines = new ArrayList<>();
        try (ChildJvm child = ChildJvm.of(EchoChild.class).args("hang").watchdog(Duration.ofMillis(1)).start()) {
            child.readLinesKillingWhen(lines::add, () -> false); // returns only because the watchdog killed it
            assertThat(child.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(child.process().exitValue()).isEqualTo(137);
        }
        assertThat(lines).isSubsetOf("READY");
    }

    @Test
    void closeKillsARunningChild() throws Exception {
        ChildJvm child = ChildJvm.of(EchoChild.class).args("hang").start();
        assertThat(child.readLine()).isEqualTo("READY");
        child.close();
        assertThat(child.process().isAlive()).isFalse();
        assertThat(child.killed()).isTrue();
    }

    @Test
    void theCommandRunsTheMainClassOnThisClassPath() {
        List<String> command = ChildJvm.of("a.B").jvmArgs("-Xmx8m").args("x", "y").command();
        assertThat(command.subList(command.size() - 3, command.size())).containsExactly("a.B", "x", "y");
        assertThat(command).contains("-Xmx8m", "-cp", System.getProperty("java.class.path"));
        assertThat(command.indexOf("-Xmx8m")).isLessThan(command.indexOf("a.B"));
    }
}
