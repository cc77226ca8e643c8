package dev.strata.kafka.broker;

import dev.strata.api.StreamLabels;
import dev.strata.core.CpuPriority;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.Quota;
import dev.strata.core.Strata;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code java -jar strata-kafka-broker.jar --data-dir PATH [--port 9092] [--host 127.0.0.1]
 * [--object-store URI] [--wal-path PATH] [--partitions 1] [--tenant-rule RULE]...
 * [--tenant-catchup-quota TENANT=BYTES_PER_SEC]... [--tenant-append-quota TENANT=BYTES_PER_SEC]...}: builds a durable Strata store with
 * {@link Strata#builder()}, starts a {@link KafkaBroker} on it, prints one line once it accepts
 * connections, and closes both on SIGTERM (a shutdown hook). Exit status 2 for bad arguments, 1 if
 * the store or the broker cannot start.
 */
public final class BrokerMain {

    static final String USAGE = """
            usage: java -jar strata-kafka-broker.jar --data-dir PATH [options]
              --data-dir PATH       the embedded default: WAL file and objects under PATH
              --port N              port to listen on (default 9092; 0 picks a free one)
              --host HOST           address to listen on (default 127.0.0.1)
              --object-store URI    objects in file:///dir or s3://bucket/prefix?region=... instead
              --wal-path PATH       the WAL on this block device or file instead
              --partitions N        partitions of auto-created topics (default 1)
              --tenant-rule RULE    tenant of new topics: prefix:<prefix>=<tenant> or regex:<pattern>
                                    (group 1 = tenant); repeatable, the first match wins (default: none)
              --tenant-catchup-quota TENANT=BYTES_PER_SEC
                                    the tenant's catch-up read quota, set at start; repeatable
              --tenant-append-quota TENANT=BYTES_PER_SEC
                                    the tenant's append quota, set at start; repeatable
              --background-cpu-priority normal|low|idle
                                    CPU priority of the store's catch-up read and compaction
                                    threads, so replays cannot take the cores from produce
                                    (JDK 22+ on Linux; default normal)""";

    private BrokerMain() {
    }

    /** Parsed command line. */
    record Options(Path dataDir, Path walPath, URI objectStore, String host, int port, int partitions,
                   List<String> tenantRules, Map<String, Quota> tenantQuotas, CpuPriority backgroundCpuPriority) {
        Options(Path dataDir, Path walPath, URI objectStore, String host, int port, int partitions) {
            this(dataDir, walPath, objectStore, host, port, partitions, List.of(), Map.of(), CpuPriority.NORMAL);
        }

        BrokerConfig brokerConfig() {
            BrokerConfig config = BrokerConfig.of(host, port, partitions).withTenantRules(TenantRules.parse(tenantRules));
            for (Map.Entry<String, Quota> e : tenantQuotas.entrySet()) {
                config = config.withTenantQuota(e.getKey(), e.getValue());
            }
            return config;
        }
    }

    public static void main(String[] args) {
        Options options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("strata-kafka-broker: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        DurableStreamStore store;
        KafkaBroker broker;
        try {
            Strata.Builder builder = Strata.builder().backgroundCpuPriority(options.backgroundCpuPriority());
            if (options.dataDir() != null) {
                builder.dataDir(options.dataDir());
            }
            if (options.walPath() != null) {
                builder.walPath(options.walPath());
            }
            if (options.objectStore() != null) {
                builder.objectStore(options.objectStore());
            }
            store = builder.build();
            try {
                broker = KafkaBroker.start(store, options.brokerConfig());
            } catch (RuntimeException e) {
                store.close();
                throw e;
            }
        } catch (RuntimeException e) {
            System.err.println("strata-kafka-broker: cannot start: " + e);
            System.exit(1);
            return;
        }
        KafkaBroker started = broker;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try (store) {
                started.close();
            }
        }, "strata-kafka-broker-shutdown"));
        System.out.println("strata-kafka-broker accepting connections on " + options.host() + ":" + broker.port());
        System.out.flush();
        // the broker's I/O threads keep the JVM running until SIGTERM runs the hook
    }

    private static CpuPriority priority(String name, String value) {
        try {
            return CpuPriority.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + " " + e.getMessage(), e);
        }
    }

    /** @throws IllegalArgumentException naming the option that is unknown, lacks a value or has a bad one */
    static Options parse(String[] args) {
        Path dataDir = null;
        Path walPath = null;
        URI objectStore = null;
        String host = "127.0.0.1";
        int port = BrokerConfig.DEFAULT_PORT;
        int partitions = 1;
        List<String> tenantRules = new ArrayList<>();
        Map<String, Quota> tenantQuotas = new LinkedHashMap<>();
        CpuPriority backgroundCpuPriority = CpuPriority.NORMAL;
        for (int i = 0; i < args.length; i += 2) {
            String name = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(name + " needs a value");
            }
            String value = args[i + 1];
            switch (name) {
                case "--data-dir" -> dataDir = Path.of(value);
                case "--wal-path" -> walPath = Path.of(value);
                case "--object-store" -> objectStore = URI.create(value);
                case "--host" -> host = value;
                case "--port" -> port = number(name, value, 0, 65535);
                case "--partitions" -> partitions = number(name, value, 1, Topics.MAX_PARTITIONS);
                case "--tenant-rule" -> {
                    TenantRules.parse(List.of(value)); // reports a bad rule here, naming it
                    tenantRules.add(value);
                }
                case "--tenant-catchup-quota" -> tenantQuota(name, value, tenantQuotas, false);
                case "--tenant-append-quota" -> tenantQuota(name, value, tenantQuotas, true);
                case "--background-cpu-priority" -> backgroundCpuPriority = priority(name, value);
                default -> throw new IllegalArgumentException("unknown option " + name);
            }
        }
        if (dataDir == null && (walPath == null || objectStore == null)) {
            throw new IllegalArgumentException("--data-dir is required (or both --wal-path and --object-store)");
        }
        return new Options(dataDir, walPath, objectStore, host, port, partitions, List.copyOf(tenantRules),
                java.util.Collections.unmodifiableMap(tenantQuotas), backgroundCpuPriority);
    }

    /** Parses {@code TENANT=BYTES_PER_SEC} into {@code quotas}, keeping the tenant's other rate. */
    private static void tenantQuota(String name, String value, Map<String, Quota> quotas, boolean append) {
        int eq = value.lastIndexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException(name + " must be TENANT=BYTES_PER_SEC, got " + value);
        }
        String tenant = value.substring(0, eq);
        try {
            StreamLabels.checkTenant(tenant);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
        long rate;
        try {
            rate = Long.parseLong(value.substring(eq + 1));
        } catch (NumberFormatException e) {
            rate = -1;
        }
        if (rate <= 0) {
            throw new IllegalArgumentException(name + " must be TENANT=BYTES_PER_SEC with a rate > 0, got " + value);
        }
        Quota quota = quotas.getOrDefault(tenant, Quota.unlimited());
        quotas.put(tenant, append ? quota.withAppendBytesPerSecond(rate) : quota.withCatchUpReadBytesPerSecond(rate));
    }

    private static int number(String name, String value, int min, int max) {
        try {
            int n = Integer.parseInt(value);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(name + " must be an integer in [" + min + ", " + max + "], got " + value);
    }
}
