package dev.strata.core.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.testkit.ChildJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Memory under catch-up load, measured in a JVM of its own ({@link MemoryUnderLoadChild}): hundreds
 * of streams hold several times more data than the store's configured memory (LogCache 4 MiB,
 * BlockCache 2 MiB, in-flight reads 1 MiB); four catch-up readers (as many as the store's read
 * threads: the regression of a deadlock where fetches waited on block loads queued behind them) read
 * every stream from offset 0, so reads come from objects, while a tail writer appends to a few hot
 * streams and reads each batch back at once.
 *
 * <p>The child runs with {@code -XX:MaxDirectMemorySize} set to the store's
 * {@link dev.strata.core.MemoryLimits#directBytes()} and a 128 MiB heap, so any excess is an
 * {@link OutOfMemoryError} and the child fails. Checked: the child completes with every byte exact;
 * the peak of the JVM's direct-buffer pool (every buffer of the store, sampled after each append and
 * fetch) stays within the store's own limits while writing and while reading; heap retained after a
 * GC is a fraction of the heap; tail reads keep completing; no buffer leaks (paranoid detection).
 * A second test shows the limit binds: with less direct memory than the load needs, the store
 * opens and the load then fails with {@code OutOfMemoryError}.
 *
 * <p>CI: 200 streams x 200 batches (~80 MB read); long: 500 streams x 300 batches (~300 MB).
 */
class MemoryUnderLoadTest {
    private static final int STREAMS = Campaigns.LONG ? 500 : 200;
    private static final int BATCHES = Integer.getInteger("strata.memory.batches", Campaigns.LONG ? 300 : 200);
    private static final int READERS = Integer.getInteger("strata.memory.readers", 4);
    private static final String MAX_HEAP = "128m";
    /** Direct arenas of the children's pool (part of the limit: one partly used chunk each). */
    private static final int ARENAS = 2;

    @TempDir
    Path dir;

    @Test
    void catchUpReadersOnHundredsOfStreamsStayWithinMemoryLimitsAndTailReadsFlow() throws Exception {
        long limit = directLimit();
        Child child = runChild(limit, STREAMS, BATCHES);
        assertThat(child.exitCode()).as("the child failed (out of memory?); stderr:%n%s", child.stderr()).isZero();
        assertThat(child.stderr()).as("leak report in the child's stderr").doesNotContain("LEAK:");
        Map<String, Long> r = child.result();
        String measured = child.resultLine();
        long ownLimit = child.limit();
        assertThat(ownLimit).as("the child's store computes the limit the probe did").isEqualTo(limit);
        assertThat(r.get("bytesRead")).as("the readers went through more data than the limit; %s", measured)
                .isGreaterThan(2 * limit);
        assertThat(r.get("batchesRead")).as("every acknowledged batch (and the tail writer's taken by readers); %s", measured)
                .isGreaterThanOrEqualTo((long) STREAMS * BATCHES);
        assertThat(r.get("peakDirectWriting")).as("direct memory while writing; %s", measured)
                .isLessThanOrEqualTo(ownLimit);
        assertThat(r.get("peakDirectReading")).as("direct memory while reading; %s", measured)
                .isLessThanOrEqualTo(ownLimit);
        assertThat(r.get("heapRetainedAfterGc")).as("heap retained after the load; %s", measured)
                .isLessThan(r.get("maxHeap") * 3 / 4);
        assertThat(r.get("tailReads")).as(measured).isGreaterThanOrEqualTo(50);
        // a hang guard, not a latency claim (latency is measured by the benchmarks): a tail read never waits
        // behind the catch-up readers' memory budget for good
        assertThat(r.get("tailReadMaxMs")).as("slowest tail read; %s", measured).isLessThan(30_000);
        Campaigns.report("MemoryUnderLoadTest", measured + " oom=0");
    }

    /**
     * The limit binds: with less direct memory than the load needs (15 MiB: the store opens with
     * 14 MiB but not with 12, and the load fails at 16 MiB too), the store opens, then the load runs
     * out of direct memory. So a store
     * whose buffers went past its limit would fail the test above, rather than go unnoticed.
     */
    @Test
    void withLessDirectMemoryThanTheLoadNeedsTheChildRunsOutOfMemory() throws Exception {
        Child child = runChild(Long.getLong("strata.memory.tooLittle", 15L << 20), STREAMS, 20);
        assertThat(child.exitCode()).as("stdout: %s", child.stdout()).isEqualTo(1);
        assertThat(child.stdout()).as("the store opened before memory ran out").contains("LIMITS ");
        assertThat(child.stderr()).contains("OutOfMemoryError");
    }

    /**
     * The store's direct-memory limit with the test's settings, from a probe child with the same
     * pool settings (the limit counts the pool's arenas, which Netty sizes by core count and
     * available memory unless told; the children are told: 2).
     */
    private long directLimit() throws Exception {
        Child probe = runChild(256L << 20, 0, 0);
        assertThat(probe.exitCode()).as("probe failed; stderr:%n%s", probe.stderr()).isZero();
        return probe.limit();
    }

    private Child runChild(long maxDirect, int streams, int batches) throws Exception {
        String name = "child-" + maxDirect + "-" + streams;
        Path data = Files.createDirectories(dir.resolve(name));
        try (ChildJvm p = ChildJvm.of(MemoryUnderLoadChild.class)
                .jvmArgs("-Xmx" + MAX_HEAP, "-XX:MaxDirectMemorySize=" + maxDirect,
                        "-Dio.netty.allocator.numDirectArenas=" + ARENAS,
                        "-Dio.netty.leakDetection.level=paranoid", "-Dstrata.seed=" + Campaigns.BASE_SEED)
                .args(data.toString(), String.valueOf(streams), String.valueOf(batches), String.valueOf(READERS))
                .stdoutTo(dir.resolve(name + ".out")).stderrTo(dir.resolve(name + ".err")).start()) {
            int exitCode = p.waitForExit(Duration.ofMinutes(10)); // AssertionError if it did not finish
            return new Child(exitCode, p.stdout(), p.stderr());
        }
    }

    private record Child(int exitCode, String stdout, String stderr) {
        String resultLine() {
            return line("RESULT ").substring("RESULT ".length());
        }

        long limit() {
            return Long.parseLong(line("LIMITS ").split(" ")[1]);
        }

        Map<String, Long> result() {
            Map<String, Long> m = new HashMap<>();
            for (String kv : resultLine().split(" ")) {
                String[] f = kv.split("=");
                m.put(f[0], Long.parseLong(f[1]));
            }
            return m;
        }

        private String line(String prefix) {
            List<String> lines = stdout.lines().filter(l -> l.startsWith(prefix)).toList();
            assertThat(lines).as("child output %s; stderr:%n%s", stdout, stderr).hasSize(1);
            return lines.get(0);
        }
    }
}
