package dev.strata.jmh.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.AppendResult;
import dev.strata.api.FetchResult;
import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A small run of the metadata scale tool: it must verify every stream it reopens. No timing assertions. */
class MetadataScaleTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return MetadataScale.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void aLocalRunReopensAndVerifiesEveryStream() throws Exception {
        Path json = dir.resolve("scale.json");
        int status = run("--streams", "2000", "--store", "local", "--json", json.toString());

        assertThat(status).as("stderr: %s", err.toString(StandardCharsets.UTF_8)).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8))
                .contains("verified 2,000 of 2,000 streams", "heap per idle open stream", "manifest at the end");
        assertThat(Files.readString(json)).contains("\"verifiedStreams\":2000", "\"streams\":2000");
    }

    @Test
    void aRunOnTheInProcessS3ServerWithPutLatencyVerifiesToo() {
        int status = run("--streams", "50", "--store", "s3-in-process", "--put-latency-ms", "1", "--concurrency", "10");

        assertThat(status).as("stderr: %s", err.toString(StandardCharsets.UTF_8)).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("verified 50 of 50 streams", "S3Proxy in this JVM, +1 ms per PUT");
    }

    @Test
    void verificationFailsLoudlyOnAStreamWhoseOffsetsDiffer() {
        long[] ids = {7, 8};
        Stream[] opened = {new FixedStream(7, MetadataScale.expectedStart(0), MetadataScale.records(0)),
                new FixedStream(8, 0, MetadataScale.records(1) + 1)};

        assertThatThrownBy(() -> MetadataScale.verify(ids, opened)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("1 of 2 streams differ").hasMessageContaining("stream 8: id 8, start 0 (expected 0), next "
                        + (MetadataScale.records(1) + 1) + " (expected " + MetadataScale.records(1) + ")");
        opened[1] = new FixedStream(8, 0, MetadataScale.records(1));
        assertThat(MetadataScale.verify(ids, opened)).isEqualTo(2);
    }

    @Test
    void badArgumentsExitTwoWithTheReason() {
        assertThat(run("--store", "ftp://x")).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--store must be 'local', 's3-in-process' or an s3:// URI");
        assertThat(run("--streams", "0")).isEqualTo(2);
        assertThat(run("--frobnicate", "1")).isEqualTo(2);
    }

    /** A handle whose offsets are fixed: what a reopened stream reports. */
    private record FixedStream(long id, long startOffset, long nextOffset) implements Stream {
        @Override
        public long epoch() {
            return 1;
        }

        @Override
        public CompletableFuture<AppendResult> append(RecordBatch batch) {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletableFuture<FetchResult> fetch(long startOffset, long endOffset, int maxBytes) {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletableFuture<Void> trim(long newStartOffset) {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletableFuture<Void> close() {
            return CompletableFuture.completedFuture(null);
        }
    }
}
