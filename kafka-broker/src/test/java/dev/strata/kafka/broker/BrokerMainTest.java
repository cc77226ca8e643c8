package dev.strata.kafka.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The command line of the issue: option names, defaults, and errors that name the option. */
class BrokerMainTest {

    @Test
    void defaultsArePort9092Host127001AndOnePartition() {
        BrokerMain.Options o = BrokerMain.parse(new String[] {"--data-dir", "strata-kafka-data"});
        assertThat(o).isEqualTo(new BrokerMain.Options(Path.of("strata-kafka-data"), null, null, "127.0.0.1", 9092, 1));
    }

    @Test
    void everyOptionIsParsed() {
        BrokerMain.Options o = BrokerMain.parse(new String[] {"--wal-path", "/dev/nvme1n1", "--object-store",
                "s3://bucket/prefix?region=eu-west-1", "--host", "0.0.0.0", "--port", "19092", "--partitions", "16"});
        assertThat(o).isEqualTo(new BrokerMain.Options(null, Path.of("/dev/nvme1n1"),
                URI.create("s3://bucket/prefix?region=eu-west-1"), "0.0.0.0", 19092, 16));
    }

    @Test
    void badArgumentsNameTheOption() {
        assertThatThrownBy(() -> BrokerMain.parse(new String[] {})).hasMessageContaining("--data-dir is required");
        assertThatThrownBy(() -> BrokerMain.parse(new String[] {"--wal-path", "/w"})).hasMessageContaining("--data-dir");
        assertThatThrownBy(() -> BrokerMain.parse(new String[] {"--data-dir", "d", "--port", "x"}))
                .hasMessageContaining("--port must be an integer in [0, 65535], got x");
        assertThatThrownBy(() -> BrokerMain.parse(new String[] {"--data-dir", "d", "--partitions", "0"}))
                .hasMessageContaining("--partitions");
        assertThatThrownBy(() -> BrokerMain.parse(new String[] {"--data-dir"})).hasMessageContaining("--data-dir needs a value");
        assertThatThrownBy(() -> BrokerMain.parse(new String[] {"--data-dir", "d", "--verbose", "1"}))
                .hasMessageContaining("unknown option --verbose");
        assertThatThrownBy(() -> BrokerMain.parse(new String[] {"--data-dir", "d", "--background-cpu-priority", "lowest"}))
                .hasMessageContaining("--background-cpu-priority must be normal, low or idle, got 'lowest'");
    }

    @Test
    void backgroundCpuPriorityIsParsedCaseInsensitively() {
        assertThat(BrokerMain.parse(new String[] {"--data-dir", "d", "--background-cpu-priority", "IDLE"})
                .backgroundCpuPriority()).isEqualTo(dev.strata.core.CpuPriority.IDLE);
        assertThat(BrokerMain.parse(new String[] {"--data-dir", "d", "--background-cpu-priority", "low"})
                .backgroundCpuPriority()).isEqualTo(dev.strata.core.CpuPriority.LOW);
        assertThat(BrokerMain.parse(new String[] {"--data-dir", "d"}).backgroundCpuPriority())
                .isEqualTo(dev.strata.core.CpuPriority.NORMAL);
    }

    @Test
    void tenantRulesAndQuotasAreRepeatableAndReachTheBrokerConfig() {
        BrokerMain.Options o = BrokerMain.parse(new String[] {"--data-dir", "d",
                "--tenant-rule", "prefix:acme.=acme", "--tenant-rule", "regex:([a-z]+)-.*",
                "--tenant-catchup-quota", "acme=1048576", "--tenant-append-quota", "acme=2097152",
                "--tenant-catchup-quota", "globex=65536"});
        assertThat(o.tenantRules()).containsExactly("prefix:acme.=acme", "regex:([a-z]+)-.*");
        BrokerConfig config = o.brokerConfig();
        assertThat(config.tenantRules().tenantOf("acme.orders")).contains("acme");
        assertThat(config.tenantRules().tenantOf("globex-events")).contains("globex");
        assertThat(config.tenantRules().tenantOf("plain")).isEmpty();
        assertThat(config.tenantQuotas()).containsOnlyKeys("acme", "globex");
        assertThat(config.tenantQuotas().get("acme").catchUpReadBytesPerSecond()).isEqualTo(1048576);
        assertThat(config.tenantQuotas().get("acme").appendBytesPerSecond()).isEqualTo(2097152);
        assertThat(config.tenantQuotas().get("globex").appendBytesPerSecond()).isEqualTo(dev.strata.core.Quota.UNLIMITED);
    }

    @Test
    void badTenantRulesAndQuotasNameTheOption() {
        assertThatThrownBy(() -> BrokerMain.parse(new String[] {"--data-dir", "d", "--tenant-rule", "suffix:x=y"}))
                .hasMessageContaining("prefix: or regex:");
        assertThatThrownBy(() -> BrokerMain.parse(new String[] {"--data-dir", "d", "--tenant-rule", "prefix:=acme"}))
                .hasMessageContaining("non-empty prefix");
        assertThatThrownBy(() -> BrokerMain.parse(new String[] {"--data-dir", "d", "--tenant-rule", "prefix:a.=bad tenant"}))
                .hasMessageContaining("tenant must be");
        assertThatThrownBy(() -> BrokerMain.parse(new String[] {"--data-dir", "d", "--tenant-rule", "regex:[a-z]+"}))
                .hasMessageContaining("capture group");
        assertThatThrownBy(() -> BrokerMain.parse(new String[] {"--data-dir", "d", "--tenant-rule", "regex:(["}))
                .hasMessageContaining("does not compile");
        assertThatThrownBy(() -> BrokerMain.parse(new String[] {"--data-dir", "d", "--tenant-catchup-quota", "acme"}))
                .hasMessageContaining("--tenant-catchup-quota must be TENANT=BYTES_PER_SEC");
        assertThatThrownBy(() -> BrokerMain.parse(new String[] {"--data-dir", "d", "--tenant-append-quota", "acme=0"}))
                .hasMessageContaining("rate > 0");
    }
}
