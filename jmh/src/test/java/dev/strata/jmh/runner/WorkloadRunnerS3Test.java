package dev.strata.jmh.runner;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.objectstore.testing.S3ProxyServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {@code --object-store s3://...} against a real S3-compatible server (S3Proxy on loopback). */
class WorkloadRunnerS3Test {

    @RegisterExtension
    static final S3ProxyServer S3 = S3ProxyServer.inMemory();

    @TempDir
    Path dir;

    @Test
    void ingestRunsAgainstS3() {
        S3.createBucket("bench");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = WorkloadRunner.run(TinyRuns.args(dir, "ingest", "--json", "none", "--object-store",
                        S3.objectStoreUri("bench", "runs").toString()),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertThat(status).as("stderr: %s", err.toString(StandardCharsets.UTF_8)).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("ingest", "passed").doesNotContain("FAILED")
                .doesNotContain("secretKey");
    }
}
