package dev.strata.jmh.runner;

import dev.strata.wal.WalOptions;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The runner's settings, parsed by hand from the command line ({@link #parse}). Immutable.
 *
 * @param scenarios scenarios to run, in order
 * @param duration run length of each scenario
 * @param streams streams appended to
 * @param recordBytes payload bytes of each record (one record per append)
 * @param rate target appends per second over all streams; 0 means as fast as the store allows
 * @param dir base directory for data (a fresh temp directory per scenario inside it)
 * @param objectStore object store URI, or null for a directory beside the WAL (or for {@code s3InProcess})
 * @param json where the JSON report goes, or null for none
 * @param plot where the HTML latency chart goes, or null for none
 * @param baseline whether to run the disk baseline script first
 * @param walBytes WAL file size
 * @param cacheBytes LogCache size (the BlockCache gets the same; uploads start at a quarter of it)
 * @param help whether only the usage was asked for
 * @param replayQuota the replay scenario's catch-up read quota in bytes per second over all its
 *     streams (a tenant quota, {@code DurableStreamStore.quotas()}), or 0 for none
 * @param s3InProcess objects in an S3-compatible server (S3Proxy) the runner starts in its own JVM on
 *     loopback, storing them as files under the run's directory ({@code --object-store s3-in-process})
 * @param stages whether scenarios report the engine's stage breakdown of appends (and, for tail
 *     reads, from visible to delivered), through {@code Strata.builder().appendStageListener}
 * @param replayBatchBytes payload bytes of each batch of the replay scenario's history (one record
 *     per batch); the live ingest appends {@code recordBytes}
 * @param replayPriority the CPU priority of the replay: the store's background threads
 *     ({@code Strata.builder().backgroundCpuPriority}) and the runner's replay reader threads
 * @param walBackend the block-device WAL's I/O backend ({@code Strata.builder().walBackend})
 */
public record RunnerOptions(List<Scenario.Kind> scenarios, Duration duration, int streams, int recordBytes,
        long rate, Path dir, URI objectStore, Path json, Path plot, boolean baseline, long walBytes,
        long cacheBytes, boolean help, long replayQuota, boolean s3InProcess, boolean stages, int replayBatchBytes,
        dev.strata.core.CpuPriority replayPriority, WalOptions.Backend walBackend) {

    /** Scenario length of the default run: six scenarios in a little over a minute. */
    public static final Duration DEFAULT_DURATION = Duration.ofSeconds(8);
    public static final int DEFAULT_STREAMS = 16;
    public static final int DEFAULT_RECORD_BYTES = 1024;
    /** Default WAL: large enough that the default run never waits for uploads to free it. */
    public static final long DEFAULT_WAL_BYTES = 512L << 20;
    public static final long DEFAULT_CACHE_BYTES = 256L << 20;
    /** Default JSON report: {@code strata-bench-<UTC time>.json} in the working directory (git-ignored). */
    public static Path defaultJson() {
        String stamp = java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
                .withZone(java.time.ZoneOffset.UTC).format(java.time.Instant.now());
        return Path.of("strata-bench-" + stamp + ".json");
    }

    public RunnerOptions {
        scenarios = List.copyOf(scenarios);
    }

    /** The usage text printed by {@code --help} and after an argument error. */
    public static String usage() {
        return """
                Usage: java -jar jmh/target/strata-bench.jar [options]
                Runs workload scenarios against a durable Strata store (embedded default: WAL file and object
                directory in a temp dir) and verifies that every acknowledged record reads back with its bytes.
                  --scenario LIST      all (default, short version of each) or a comma list of
                                       ingest,tail,replay,burst,recovery,retention
                  --duration D         run length of each scenario: 8s (default), 500ms, 2m, or seconds
                  --streams N          streams appended to (default 16)
                  --record-bytes N     payload bytes per record, one record per append (default 1024)
                  --rate N             target appends/s over all streams; 0 = as fast as possible (default 0)
                  --dir PATH           base directory for data (default: the temp directory)
                  --object-store URI   s3://bucket/prefix?region=..&endpoint=..&pathStyle=true, file:///dir,
                                       or s3-in-process: an S3 server (S3Proxy) started in this JVM on
                                       loopback, objects as files under --dir (default: a directory
                                       beside the WAL)
                  --wal-bytes N        WAL size, with k/m/g suffix (default 512m)
                  --cache-bytes N      LogCache and BlockCache size each (default 256m)
                  --replay-quota N     replay scenario: catch-up read quota of its streams' tenant, bytes/s
                                       with k/m/g suffix (default 0: none)
                  --replay-batch-bytes N  replay scenario: payload bytes of each batch of the history that
                                       is replayed, e.g. 1k or 16k (default: --record-bytes); the live
                                       ingest beside the replay appends --record-bytes
                  --replay-priority P  replay scenario: normal, low or idle: the CPU priority of the
                                       store's catch-up read and compaction threads and of the
                                       runner's replay readers (JDK 22+; default normal)
                  --wal-backend B      the WAL's I/O backend: auto (default: io_uring on JDK 22+ with
                                       native access, else direct), io_uring, pwrite (synchronous
                                       pwritev2 on writer threads) or direct (FileChannel O_DIRECT)
                  --stages             print the engine's stage breakdown of appends per scenario (and
                                       replay phase): call -> WAL hand-off -> durable -> visible ->
                                       future completing, p50/p99/p99.9/max each; tail: visible ->
                                       delivered to the tail reader
                  --json FILE          JSON report of all figures (default strata-bench-<UTC time>.json;
                                       'none' for none)
                  --plot FILE          self-contained HTML latency-percentile chart
                  --baseline           run bench/fio-baseline.sh first and print its rows
                  --help               this text
                """;
    }

    /**
     * Parses the command line.
     *
     * @throws IllegalArgumentException naming the option and the value when an argument is wrong
     */
    public static RunnerOptions parse(String... args) {
        List<Scenario.Kind> scenarios = List.of(Scenario.Kind.values());
        Duration duration = DEFAULT_DURATION;
        int streams = DEFAULT_STREAMS;
        int recordBytes = DEFAULT_RECORD_BYTES;
        long rate = 0;
        Path dir = Path.of(System.getProperty("java.io.tmpdir"));
        URI objectStore = null;
        Path json = defaultJson();
        Path plot = null;
        boolean baseline = false;
        long walBytes = DEFAULT_WAL_BYTES;
        long cacheBytes = DEFAULT_CACHE_BYTES;
        boolean help = false;
        long replayQuota = 0;
        boolean s3InProcess = false;
        boolean stages = false;
        int replayBatchBytes = 0; // 0: recordBytes
        dev.strata.core.CpuPriority replayPriority = dev.strata.core.CpuPriority.NORMAL;
        WalOptions.Backend walBackend = WalOptions.Backend.AUTO;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String name = arg;
            String value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            }
            switch (name) {
                case "--help", "-h" -> help = true;
                case "--baseline" -> baseline = true;
                case "--stages" -> stages = true;
                default -> {
                    if (value == null) {
                        if (i + 1 >= args.length) {
                            throw new IllegalArgumentException(name + " needs a value");
                        }
                        value = args[++i];
                    }
                    switch (name) {
                        case "--scenario" -> scenarios = parseScenarios(value);
                        case "--duration" -> duration = parseDuration(name, value);
                        case "--streams" -> streams = (int) parseLong(name, value, 1, 100_000);
                        case "--record-bytes" -> recordBytes = (int) parseLong(name, value, 1, 1 << 20);
                        case "--rate" -> rate = parseLong(name, value, 0, Long.MAX_VALUE);
                        case "--dir" -> dir = Path.of(value);
                        case "--object-store" -> {
                            s3InProcess = S3_IN_PROCESS.equals(value);
                            objectStore = s3InProcess ? null : parseUri(value);
                        }
                        case "--wal-bytes" -> walBytes = parseBytes(name, value, 16L << 20);
                        case "--cache-bytes" -> cacheBytes = parseBytes(name, value, 4L << 20);
                        case "--json" -> json = "none".equals(value) ? null : Path.of(value);
                        case "--plot" -> plot = Path.of(value);
                        case "--replay-quota" -> replayQuota = "0".equals(value) ? 0 : parseBytes(name, value, 1);
                        case "--replay-batch-bytes" -> {
                            long bytes = parseBytes(name, value, 1);
                            if (bytes > StoreSettings.MAX_BATCH_BYTES) {
                                throw new IllegalArgumentException(name + " must be at most 1m (the runner's largest"
                                        + " batch), got '" + value + "'");
                            }
                            replayBatchBytes = (int) bytes;
                        }
                        case "--replay-priority" -> replayPriority = parsePriority(name, value);
                        case "--wal-backend" -> walBackend = parseWalBackend(name, value);
                        default -> throw new IllegalArgumentException("unknown option: " + arg);
                    }
                }
            }
        }
        return new RunnerOptions(scenarios, duration, streams, recordBytes, rate, dir, objectStore, json, plot,
                baseline, walBytes, cacheBytes, help, replayQuota, s3InProcess, stages,
                replayBatchBytes == 0 ? recordBytes : replayBatchBytes, replayPriority, walBackend);
    }

    private static WalOptions.Backend parseWalBackend(String name, String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "auto" -> WalOptions.Backend.AUTO;
            case "io_uring" -> WalOptions.Backend.IO_URING;
            case "pwrite" -> WalOptions.Backend.PWRITE;
            case "direct" -> WalOptions.Backend.DIRECT;
            default -> throw new IllegalArgumentException(name + " must be auto, io_uring, pwrite or direct, got '"
                    + value + "'");
        };
    }

    private static dev.strata.core.CpuPriority parsePriority(String name, String value) {
        try {
            return dev.strata.core.CpuPriority.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + " " + e.getMessage(), e);
        }
    }

    /** The value {@code --object-store} takes for the in-process S3 server. */
    static final String S3_IN_PROCESS = "s3-in-process";

    static List<Scenario.Kind> parseScenarios(String value) {
        if ("all".equalsIgnoreCase(value)) {
            return List.of(Scenario.Kind.values());
        }
        List<Scenario.Kind> out = new ArrayList<>();
        for (String part : value.split(",")) {
            String p = part.trim().toUpperCase(Locale.ROOT);
            try {
                Scenario.Kind kind = Scenario.Kind.valueOf(p);
                if (!out.contains(kind)) {
                    out.add(kind);
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--scenario: unknown scenario '" + part
                        + "' (all, ingest, tail, replay, burst, recovery, retention)");
            }
        }
        return out;
    }

    static Duration parseDuration(String name, String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        Duration d;
        try {
            if (v.endsWith("ms")) {
                d = Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
            } else if (v.endsWith("s")) {
                d = Duration.ofMillis(Math.round(Double.parseDouble(v.substring(0, v.length() - 1)) * 1000));
            } else if (v.endsWith("m")) {
                d = Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)) * 60);
            } else {
                d = Duration.ofMillis(Math.round(Double.parseDouble(v) * 1000));
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be like 8s, 500ms or 2m, got '" + value + "'");
        }
        if (d.toMillis() < 100) {
            throw new IllegalArgumentException(name + " must be at least 100ms, got '" + value + "'");
        }
        return d;
    }

    static long parseLong(String name, String value, long min, long max) {
        long v;
        try {
            v = Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a whole number, got '" + value + "'");
        }
        if (v < min || v > max) {
            throw new IllegalArgumentException(name + " must be in [" + min + ", " + max + "], got " + v);
        }
        return v;
    }

    static long parseBytes(String name, String value, long min) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        long unit = 1;
        if (v.endsWith("k") || v.endsWith("m") || v.endsWith("g")) {
            unit = switch (v.charAt(v.length() - 1)) {
                case 'k' -> 1L << 10;
                case 'm' -> 1L << 20;
                default -> 1L << 30;
            };
            v = v.substring(0, v.length() - 1);
        }
        long bytes = parseLong(name, v, 1, Long.MAX_VALUE / unit) * unit;
        if (bytes < min) {
            throw new IllegalArgumentException(name + " must be at least " + min + " bytes, got '" + value + "'");
        }
        return bytes;
    }

    static URI parseUri(String value) {
        URI uri;
        try {
            uri = URI.create(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--object-store is not a URI: '" + value + "'");
        }
        if (!"s3".equals(uri.getScheme()) && !"file".equals(uri.getScheme())) {
            throw new IllegalArgumentException("--object-store must be s3://..., file:///... or " + S3_IN_PROCESS
                    + ", got '" + value + "'");
        }
        return uri;
    }
}
