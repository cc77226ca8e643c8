package dev.strata.kafka.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
        Process broker = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), BrokerMain.class.getName(),
                "--data-dir", data.toString(), "--port", "0", "--partitions", "2")
                .redirectError(stderr.toFile())
                .start();
        Map<Integer, List<String>> sent;
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(broker.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine(); // the first and only line on stdout (logs go to stderr)
            assertThat(line).as("stderr: %s", stderr).startsWith("strata-kafka-broker accepting connections on 127.0.0.1:");
            String bootstrap = line.substring(line.lastIndexOf(' ') + 1);
            sent = KafkaClientsTest.produce(bootstrap, "before-sigterm", 200, "v");
        } finally {
            broker.destroy(); // SIGTERM
        }
        assertThat(broker.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(broker.exitValue()).isEqualTo(143); // 128 + SIGTERM, after the shutdown hook ran
        String log = Files.readString(stderr);
        assertThat(log).contains("KafkaBroker - closed").contains("WAL closed");

        try (TestBroker again = new TestBroker(data, 1)) {
            assertThat(KafkaClientsTest.consumeAll(again.bootstrap(), "before-sigterm", 2, 200)).isEqualTo(sent);
        }
    }
}
