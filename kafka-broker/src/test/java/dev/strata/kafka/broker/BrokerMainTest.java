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
    }
}
