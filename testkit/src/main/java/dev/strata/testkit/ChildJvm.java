package dev.strata.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A child JVM on this JVM's class path, for crash tests: the child runs a {@code main} class of the
 * test sources and reports what it did as lines on its stdout (its protocol, e.g.
 * {@code ACK stream base seed}); the test reads those lines and kills the child with SIGKILL at the
 * moment it chooses (after N acknowledgements, never after a time), then opens the storage the child
 * left behind as a replacement process would.
 *
 * <pre>{@code
 * try (ChildJvm child = ChildJvm.of(MyChild.class).jvmArgs("-Xmx256m").args(dir.toString())
 *         .stderrTo(dir.resolve("child.err")).start()) {
 *     child.readLinesKillingWhen(line -> ledger.record(line), () -> ledger.acknowledged() >= killAfter);
 * }
 * }</pre>
 *
 * <p>Kills go through {@link ProcessHandle#destroyForcibly()} (SIGKILL on Unix: no shutdown hook, no
 * close, no final flush), which leaves this side of the stdout pipe open, so lines the child wrote
 * before it died are still read; should the pipe close under a blocked read after the kill, that counts
 * as the end of the output (lines not read by then were acknowledged but never learnt of, so they are
 * simply not verified). Stderr goes to a file ({@link Builder#stderrTo}) or is discarded, never to a
 * pipe nobody reads (a full pipe would block the child).
 *
 * <p>Not thread-safe: one test thread drives a child. {@link #close()} kills the child if it still runs
 * and waits for it to end; a child that does not end within 60 s fails the test with
 * {@link AssertionError}.
 */
public final class ChildJvm implements AutoCloseable {
    /** How long {@link #close()} waits for a killed child to end. */
    private static final long EXIT_AFTER_KILL_SECONDS = 60;

    private final Process process;
    private final BufferedReader stdout;
    private final Path stderrFile;
    private final Path stdoutFile;
    private boolean killed;

    private ChildJvm(Process process, Path stdoutFile, Path stderrFile) {
        this.process = process;
        this.stdoutFile = stdoutFile;
        this.stderrFile = stderrFile;
        this.stdout = stdoutFile == null
                ? new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)) : null;
    }

    /** A builder for a child that runs {@code mainClass}'s {@code main} on this JVM's class path. */
    public static Builder of(Class<?> mainClass) {
        return new Builder(mainClass.getName());
    }

    /** A builder for a child that runs the class named {@code mainClass} on this JVM's class path. */
    public static Builder of(String mainClass) {
        return new Builder(mainClass);
    }

    /** The child's process id. */
    public long pid() {
        return process.pid();
    }

    /** The underlying process (for its exit value or to write to its stdin). */
    public Process process() {
        return process;
    }

    /** True once {@link #kill()} was called. */
    public boolean killed() {
        return killed;
    }

    /**
     * The next line of the child's stdout, or null at its end (the child exited, or it was killed and
     * the pipe closed under the read).
     *
     * @throws UncheckedIOException if reading fails while the child was not killed
     * @throws IllegalStateException if stdout goes to a file ({@link Builder#stdoutTo})
     */
    public String readLine() {
        if (stdout == null) {
            throw new IllegalStateException("stdout of the child goes to " + stdoutFile + "; read it with stdout()");
        }
        try {
            return stdout.readLine();
        } catch (IOException e) {
            if (killed) {
                return null; // the pipe closed under the read after the kill
            }
            throw new UncheckedIOException("reading the stdout of child " + process.pid(), e);
        }
    }

    /**
     * Reads the child's stdout to its end, handing each line to {@code onLine}; after each line, kills
     * the child once {@code killWhen} is true. Reading goes on after the kill, so lines the child wrote
     * before it died still reach {@code onLine}. A line handler that throws stops the reading; the
     * child is then killed by {@link #close()}.
     */
    public void readLinesKillingWhen(Consumer<String> onLine, BooleanSupplier killWhen) {
        for (String line; (line = readLine()) != null; ) {
            onLine.accept(line);
            if (!killed && killWhen.getAsBoolean()) {
                kill();
            }
        }
    }

    /** Sends SIGKILL (no shutdown hook, no close, no flush); this side of stdout stays open. Idempotent. */
    public void kill() {
        killed = true;
        process.toHandle().destroyForcibly();
    }

    /**
     * Waits for the child to exit by itself and returns its exit code.
     *
     * @throws AssertionError if it did not exit within {@code timeout} (the child is then killed)
     */
    public int waitForExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            kill();
            throw new AssertionError("child " + process.pid() + " did not exit within " + timeout + "; stderr:\n" + stderr());
        }
        return process.exitValue();
    }

    /** What the child wrote to stderr so far (empty if stderr is discarded). */
    public String stderr() {
        return stderrFile == null ? "" : readFile(stderrFile);
    }

    /**
     * What the child wrote to stdout so far, when stdout goes to a file ({@link Builder#stdoutTo}).
     *
     * @throws IllegalStateException if stdout is a pipe read with {@link #readLine()}
     */
    public String stdout() {
        if (stdoutFile == null) {
            throw new IllegalStateException("stdout of the child is a pipe; read it with readLine()");
        }
        return readFile(stdoutFile);
    }

    private static String readFile(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file, e);
        }
    }

    /**
     * Kills the child if it still runs, waits for it to end and closes the pipe.
     *
     * @throws AssertionError if it did not end within 60 s
     */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
        boolean ended = process.waitFor(EXIT_AFTER_KILL_SECONDS, TimeUnit.SECONDS);
        try {
            if (stdout != null) {
                stdout.close();
            }
        } catch (IOException e) {
            // the child is gone; nothing is left to read
        }
        if (!ended) {
            throw new AssertionError("child " + process.pid() + " did not end within " + EXIT_AFTER_KILL_SECONDS
                    + " s of SIGKILL");
        }
    }

    /** Settings of a child JVM; {@link #start()} launches it. Not thread-safe. */
    public static final class Builder {
        private final String mainClass;
        private final List<String> jvmArgs = new ArrayList<>();
        private final List<String> args = new ArrayList<>();
        private Path stderr;
        private Path stdout;
        private Duration watchdog;

        private Builder(String mainClass) {
            this.mainClass = Objects.requireNonNull(mainClass, "mainClass");
        }

        /** JVM options, e.g. {@code -Xmx256m} or {@code -Dname=value}, in order. */
        public Builder jvmArgs(String... options) {
            jvmArgs.addAll(List.of(options));
            return this;
        }

        /** Arguments of {@code main}, in order. */
        public Builder args(String... arguments) {
            args.addAll(List.of(arguments));
            return this;
        }

        /** Writes the child's stderr to {@code file} (read it with {@link #stderr()}); default: discarded. */
        public Builder stderrTo(Path file) {
            this.stderr = file;
            return this;
        }

        /**
         * Writes the child's stdout to {@code file} instead of a pipe, for a child that runs to its end
         * ({@link #waitForExit}) and is read afterwards with {@link #stdout()}.
         */
        public Builder stdoutTo(Path file) {
            this.stdout = file;
            return this;
        }

        /**
         * Kills the child after {@code timeout} if it still runs, so a test reading the output of a
         * child that stopped reporting still ends (the kill ends the output). A safety net, not a way
         * to choose the kill moment.
         */
        public Builder watchdog(Duration timeout) {
            this.watchdog = timeout;
            return this;
        }

        /** The command line {@link #start()} runs. */
        public List<String> command() {
            List<String> command = new ArrayList<>();
            command.add(ProcessHandle.current().info().command().orElse("java"));
            if (Runtime.version().feature() >= 22) {
                command.add("--enable-native-access=ALL-UNNAMED"); // the WAL's io_uring backend uses FFM
            }
            command.addAll(jvmArgs);
            command.add("-cp");
            command.add(System.getProperty("java.class.path"));
            command.add(mainClass);
            command.addAll(args);
            return command;
        }

        /**
         * Starts the child.
         *
         * @throws IOException if the JVM cannot be started
         */
        public ChildJvm start() throws IOException {
            ProcessBuilder pb = new ProcessBuilder(command());
            pb.redirectError(stderr == null ? ProcessBuilder.Redirect.DISCARD : ProcessBuilder.Redirect.to(stderr.toFile()));
            if (stdout != null) {
                pb.redirectOutput(stdout.toFile());
            }
            Process process = pb.start();
            if (watchdog != null) {
                CompletableFuture.runAsync(() -> process.toHandle().destroyForcibly(),
                        CompletableFuture.delayedExecutor(watchdog.toNanos(), TimeUnit.NANOSECONDS));
            }
            return new ChildJvm(process, stdout, stderr);
        }
    }
}
