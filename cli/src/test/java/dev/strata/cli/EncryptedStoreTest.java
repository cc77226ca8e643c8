package dev.strata.cli;

import static dev.strata.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import dev.strata.core.crypto.InMemoryKeyProvider;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The read-only tools on a store with client-side encryption (the CLI has no keys): {@code verify}
 * accepts encrypted batches (their CRCs cover the envelope), {@code dump-stream} marks them
 * encrypted and never prints an envelope as if it were the data.
 */
class EncryptedStoreTest {
    private static final String SECRET = "ACME-TOP-SECRET-PAYLOAD";

    @TempDir
    static Path dir;
    static long acme;
    static long plain;

    @BeforeAll
    static void buildStore() {
        try (DurableStreamStore store = CliTestSupport.builder(dir).encryption(new InMemoryKeyProvider()).build()) {
            Stream a = store.createStream(StreamOptions.defaults().withTenant("acme")).join();
            Stream p = store.createStream(StreamOptions.defaults()).join();
            for (int i = 0; i < 3; i++) {
                a.append(RecordBatch.of(1, ByteBuffer.wrap((SECRET + i).getBytes(StandardCharsets.US_ASCII)))).join();
                p.append(RecordBatch.of(1, ByteBuffer.wrap(("plain-" + i).getBytes(StandardCharsets.US_ASCII)))).join();
            }
            acme = a.id();
            plain = p.id();
        } // closing uploads everything
    }

    @Test
    void verifyAcceptsEncryptedBatches() {
        CliTestSupport.Result r = run("verify", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isZero();
    }

    @Test
    void dumpStreamMarksEncryptedBatchesAndShowsNoEnvelopeAsData() {
        CliTestSupport.Result r = run("dump-stream", acme, "--text", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("encrypted <encrypted>").doesNotContain(SECRET);
        CliTestSupport.Result json = run("dump-stream", acme, "--hex", "--json", "--data-dir", dir);
        assertThat(json.exitCode()).as(json.toString()).isZero();
        assertThat(json.out()).contains("\"encrypted\": true").contains("<encrypted>");
        CliTestSupport.Result p = run("dump-stream", plain, "--text", "--data-dir", dir);
        assertThat(p.out()).contains("plain-2").doesNotContain("encrypted");
    }
}
