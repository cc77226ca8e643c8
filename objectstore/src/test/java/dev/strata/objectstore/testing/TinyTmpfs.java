package dev.strata.objectstore.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A small tmpfs mounted on a test's directory: a real file system that really fills up (ENOSPC),
 * for disk-full tests. Mounting needs root (CAP_SYS_ADMIN); where {@code mount} is refused the test
 * is skipped (JUnit assumption), never failed. {@link #close()} unmounts it. Not thread-safe.
 */
public final class TinyTmpfs implements AutoCloseable {
    private final Path dir;

    private TinyTmpfs(Path dir) {
        this.dir = dir;
    }

    /** Mounts a tmpfs of {@code bytes} on {@code dir} (created if missing), or skips the test. */
    public static TinyTmpfs mount(Path dir, long bytes) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        String out = run(List.of("mount", "-t", "tmpfs", "-o", "size=" + bytes, "tmpfs", dir.toString()));
        Assumptions.assumeTrue(out == null, () -> "cannot mount a tmpfs (needs root): " + out);
        return new TinyTmpfs(dir);
    }

    public Path dir() {
        return dir;
    }

    /** Grows (or shrinks) the file system to {@code bytes}: "the operator freed space". */
    public void resize(long bytes) throws IOException, InterruptedException {
        String out = run(List.of("mount", "-o", "remount,size=" + bytes, dir.toString()));
        if (out != null) {
            throw new IOException("remount of " + dir + " failed: " + out);
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        String out = run(List.of("umount", "-l", dir.toString()));
        if (out != null) {
            throw new IOException("umount of " + dir + " failed: " + out);
        }
    }

    /** Runs a command; null if it succeeded, else its exit code and output. */
    private static String run(List<String> command) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            return e.toString();
        }
        byte[] output = p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "timed out: " + command;
        }
        return p.exitValue() == 0 ? null
                : "exit " + p.exitValue() + ": " + new String(output, StandardCharsets.UTF_8).trim();
    }
}
