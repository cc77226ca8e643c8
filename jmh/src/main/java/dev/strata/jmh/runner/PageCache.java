package dev.strata.jmh.runner;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Drops the files under a directory from the kernel's page cache, so that a read of them that
 * follows comes from the disk (as fio's {@code O_DIRECT} reads do) rather than from memory: each
 * file is synced ({@code sync FILE...}: only clean pages can be dropped) and then dropped with
 * {@code dd if=FILE iflag=nocache count=0} (GNU coreutils: {@code posix_fadvise(DONTNEED)} over
 * the whole file; no privileges needed). What stays cached is measured with util-linux
 * {@code fincore} when it is installed. Best effort: a missing tool is reported, never fatal.
 */
final class PageCache {
    private PageCache() {
    }

    /**
     * What an eviction did.
     *
     * @param files regular files found
     * @param bytes their size
     * @param residentBefore bytes of them in the page cache before, or -1 if unknown (no fincore)
     * @param residentAfter bytes of them in the page cache after, or -1 if unknown
     * @param problem why dropping failed, or null
     */
    record Eviction(int files, long bytes, long residentBefore, long residentAfter, String problem) {
        /** Adds the eviction's figures under {@code prefix}. */
        void addTo(ScenarioResult r, String prefix) {
            r.add(prefix + "object files dropped from the page cache", problem == null ? files : "no: " + problem, "");
            if (residentBefore >= 0) {
                r.add(prefix + "object files in the page cache before / after dropping", String.format(
                        java.util.Locale.ROOT, "%.1f / %.1f", residentBefore / (double) (1 << 20),
                        residentAfter / (double) (1 << 20)), "MiB");
            }
        }
    }

    /**
     * Drops every regular file under {@code dir} from the page cache. The store may be open and
     * writing (its manifest is written to a temporary file that is then renamed, and compaction
     * deletes objects): a file that is gone by the time it is sized, synced or dropped is skipped,
     * since a file that no longer exists has no pages to drop.
     */
    static Eviction evict(Path dir) throws IOException, InterruptedException {
        List<Path> files = new ArrayList<>();
        long bytes = 0;
        if (Files.isDirectory(dir)) {
            try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
                for (Path p : (Iterable<Path>) walk.filter(Files::isRegularFile)::iterator) {
                    try {
                        bytes += Files.size(p);
                        files.add(p);
                    } catch (java.nio.file.NoSuchFileException gone) {
                        // renamed or deleted since the walk listed it
                    }
                }
            }
        }
        long before = resident(files);
        String problem = null;
        for (int i = 0; i < files.size() && problem == null; i += 100) {
            List<Path> batch = files.subList(i, Math.min(files.size(), i + 100));
            problem = run(command(List.of("sync"), batch));
            if (problem != null) { // retry once without the files that went away meanwhile
                problem = run(command(List.of("sync"), batch.stream().filter(Files::exists).toList()));
            }
        }
        for (int i = 0; i < files.size() && problem == null; i++) {
            problem = run(List.of("dd", "if=" + files.get(i), "iflag=nocache", "count=0", "status=none"));
            if (problem != null && !Files.exists(files.get(i))) {
                problem = null;
            }
        }
        return new Eviction(files.size(), bytes, before, resident(files.stream().filter(Files::exists).toList()),
                problem);
    }

    private static List<String> command(List<String> head, List<Path> files) {
        List<String> cmd = new ArrayList<>(head);
        files.forEach(f -> cmd.add(f.toString()));
        return cmd;
    }

    /** Bytes of {@code files} in the page cache ({@code fincore}), or -1 when unknown. */
    static long resident(List<Path> files) throws IOException, InterruptedException {
        long total = 0;
        for (int i = 0; i < files.size(); i += 100) {
            List<String> cmd = new ArrayList<>(List.of("fincore", "--bytes", "--noheadings", "--raw", "--output", "RES"));
            files.subList(i, Math.min(files.size(), i + 100)).forEach(f -> cmd.add(f.toString()));
            Process p;
            try {
                p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            } catch (IOException e) {
                return -1; // no fincore
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                return -1;
            }
            for (String line : out.split("\n")) {
                if (!line.isBlank()) {
                    total += Long.parseLong(line.trim());
                }
            }
        }
        return total;
    }

    /** Runs {@code cmd}; returns null when it succeeded, else what went wrong. */
    private static String run(List<String> cmd) throws InterruptedException {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            int status = p.waitFor();
            return status == 0 ? null : cmd.get(0) + " exited with " + status + (out.isEmpty() ? "" : ": " + out);
        } catch (IOException e) {
            return cmd.get(0) + " not available (" + e.getMessage() + ")";
        }
    }
}
