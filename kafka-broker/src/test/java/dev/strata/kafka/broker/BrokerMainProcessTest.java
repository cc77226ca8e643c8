package dev.strata.kafka.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.testkit.ChildJvm;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link BrokerMain} in a child JVM with the command line: it prints its one line, serves a
 * producer, and SIGTERM closes broker and store through the shutdown hook; a broker started again on
 * the same data dir serves every acknowledged record.
 */
@Timeout(300)
class BrokerMainProcessTest {
    @TempDir
    Path dir;

    @Test
    void sigtermClosesBrokerAndStoreAndEveryAcknowledgedRecordIsServedAfterwards() throws Exception {
        Path data = dir.resolve("strata-kafka-data");
        Path stderr = dir.resolve("broker.err");
        Map<Integer, List<String>> sent;
        String log;
        try (ChildJvm broker = ChildJvm.of(BrokerMain.class)
                .args("--data-dir", data.toString(), "--port", "0", "--partitions", "2").stderrTo(stderr).start()) {
            try {
                String line = broker.readLine(); // the first and only line on stdout (logs go to stderr)
                assertThat(line).as("stderr: %s", stderr).startsWith("strata-kafka-broker accepting connections on 127.0.0.1:");
                String bootstrap = line.substring(line.lastIndexOf(' ') + 1);
                sent = KafkaClientsTest.produce(bootstrap, "before-sigterm", 200, "v");
            } finally {
                broker.process().destroy(); // SIGTERM
            }
            assertThat(broker.process().waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(broker.process().exitValue()).isEqualTo(143); // 128 + SIGTERM, after the shutdown hook ran
            log = broker.stderr();
        }
        assertThat(log).contains("KafkaBroker - closed").contains("WAL closed");

        try (TestBroker again = new TestBroker(data, 1)) {
            assertThat(KafkaClientsTest.consumeAll(again.bootstrap(), "before-sigterm", 2, 200)).isEqualTo(sent);
        }
    }
}
