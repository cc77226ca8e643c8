package dev.strata.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A thread's scheduling attributes as Linux reports them in {@code /proc/.../stat} (proc(5)): its
 * id, name, nice value (field 19) and policy (field 41; 0 {@code SCHED_OTHER}, 5 {@code SCHED_IDLE}).
 */
record ThreadStat(long tid, String name, int nice, int policy) {
    static final int SCHED_OTHER = 0;
    static final int SCHED_IDLE = 5;

    /** The calling thread's. */
    static ThreadStat current() {
        return read(Path.of("/proc/thread-self"));
    }

    /** The highest id of this process's threads (ids grow as threads are made, until pid_max wraps). */
    static long highestTid() {
        return named("").stream().mapToLong(ThreadStat::tid).max().orElse(0);
    }

    /** Every thread of this process whose name (as the kernel keeps it: 15 characters) starts with {@code prefix}. */
    static List<ThreadStat> named(String prefix) {
        List<ThreadStat> found = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    ThreadStat s = read(task);
                    if (s.name().startsWith(prefix)) {
                        found.add(s);
                    }
                } catch (UncheckedIOException gone) {
                    // the thread ended while listed
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return found;
    }

    private static ThreadStat read(Path task) {
        try {
            String name = Files.readString(task.resolve("comm")).strip();
            String stat = Files.readString(task.resolve("stat"));
            // after "pid (comm) ": fields from 3 (state) on; the name may hold spaces and parentheses
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long tid = Long.parseLong(stat.substring(0, stat.indexOf(' ')));
            return new ThreadStat(tid, name, Integer.parseInt(f[19 - 3]), Integer.parseInt(f[41 - 3]));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether this process may raise priorities again ({@code CAP_SYS_NICE}, bit 23 of CapEff). */
    static boolean canRaisePriority() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("CapEff:")) {
                    return (Long.parseUnsignedLong(line.substring(7).strip(), 16) & (1L << 23)) != 0;
                }
            }
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
