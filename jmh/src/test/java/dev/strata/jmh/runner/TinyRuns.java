package dev.strata.jmh.runner;

import java.io.IOException;
import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Path;

/** Tiny configurations for tests: a 16 MiB WAL, 4 MiB caches, a few streams, about a second. */
final class TinyRuns {
    private TinyRuns() {
    }

    static String[] args(Path dir, String scenario, String... extra) {
        String[] base = {"--scenario", scenario, "--duration", "1s", "--streams", "3", "--record-bytes", "200",
                "--wal-bytes", "16m", "--cache-bytes", "4m", "--dir", dir.toString()};
        String[] all = new String[base.length + extra.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return all;
    }

    static RunContext context(Path dir, String scenario, String... extra) throws IOException {
        return new RunContext(RunnerOptions.parse(args(dir, scenario, extra)), new Progress(new PrintStream(OutputStream.nullOutputStream())));
    }
}
