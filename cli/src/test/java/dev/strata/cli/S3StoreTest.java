package dev.strata.cli;

import static dev.strata.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.core.DurableStreamStore;
import dev.strata.objectstore.ObjectKeys;
import dev.strata.objectstore.testing.S3ProxyServer;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * {@code info} and {@code verify} on a store whose objects and manifest are in S3 (S3Proxy, an
 * in-process S3 server on loopback), addressed with {@code --object-store s3://...} and
 * {@code --wal-path}: the same facts as for a local store, secrets masked in the output, and a
 * missing object found, named and exit 1.
 */
class S3StoreTest {
    private static final String BUCKET = "strata-cli";
    private static S3ProxyServer server;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() throws Exception {
        server = S3ProxyServer.inMemory();
        server.start();
        server.createBucket(BUCKET);
    }

    @AfterAll
    static void stop() throws Exception {
        server.stop();
    }

    private List<Long> closedS3Store(URI uri, Path wal) {
        try (DurableStreamStore store = CliTestSupport.builder(dir.resolve("data")).objectStore(uri).walPath(wal).build()) {
            return CliTestSupport.fill(store, 2, 20);
        }
    }

    @Test
    void infoAndVerifyReadAStoreInS3() {
        URI uri = server.objectStoreUri(BUCKET, "intact/");
        Path wal = dir.resolve("strata.wal");
        List<Long> streams = closedS3Store(uri, wal);

        CliTestSupport.Result info = run("info", "--object-store", uri, "--wal-path", wal);
        assertThat(info.exitCode()).as(info.toString()).isEqualTo(ExitCodes.OK);
        assertThat(info.out()).contains("object store:   s3://" + BUCKET + "/intact/")
                .contains("streams:        " + streams.size()).contains("format 3").contains("wal:            " + wal)
                .doesNotContain(S3ProxyServer.SECRET_KEY);

        CliTestSupport.Result verify = run("verify", "--deep", "--object-store", uri, "--wal-path", wal);
        assertThat(verify.exitCode()).as(verify.toString()).isEqualTo(ExitCodes.OK);
        assertThat(verify.out()).contains("and " + streams.size() + " streams of s3://" + BUCKET + "/intact/")
                .contains("checked the WAL " + wal).doesNotContain(S3ProxyServer.SECRET_KEY).endsWith("OK\n");

        CliTestSupport.Result json = run("info", "--json", "--object-store", uri);
        assertThat(json.exitCode()).as(json.toString()).isEqualTo(ExitCodes.OK);
        assertThat(json.out()).contains("\"ok\": true").doesNotContain(S3ProxyServer.SECRET_KEY);
    }

    @Test
    void verifyFindsAnObjectMissingFromTheBucket() {
        URI uri = server.objectStoreUri(BUCKET, "damaged/");
        Path wal = dir.resolve("strata.wal");
        closedS3Store(uri, wal);
        String key;
        try (S3AsyncClient client = server.newClient()) {
            S3Object object = client.listObjectsV2(b -> b.bucket(BUCKET).prefix("damaged/")).join().contents().stream()
                    .filter(o -> ObjectKeys.parseObjectId(o.key().substring("damaged/".length())) >= 0)
                    .findFirst().orElseThrow();
            client.deleteObject(b -> b.bucket(BUCKET).key(object.key())).join();
            key = object.key().substring("damaged/".length());
        }

        CliTestSupport.Result verify = run("verify", "--object-store", uri, "--wal-path", wal);
        assertThat(verify.exitCode()).as(verify.toString()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(verify.out()).contains("PROBLEM missing-object " + key);
        CliTestSupport.Result fsck = run("fsck", "--object-store", uri);
        assertThat(fsck.exitCode()).as(fsck.toString()).isEqualTo(ExitCodes.PROBLEMS);
        assertThat(fsck.out()).contains("PROBLEM missing-object " + key);
    }
}
