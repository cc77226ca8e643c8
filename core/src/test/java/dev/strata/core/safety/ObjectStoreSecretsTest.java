package dev.strata.core.safety;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.core.DurableStreamStore;
import dev.strata.core.Strata;
import dev.strata.objectstore.testing.LogCapture;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 18 item 6 through the store's builder: opening a store on a bad object-store URI fails, and
 * neither the exception (message, causes, stack trace) nor any log line shows the URI's secret.
 */
class ObjectStoreSecretsTest {
    private static final String SECRET = "S3CR3T-M4RK3R";

    @TempDir
    Path tmp;

    @Test
    void aStoreOnABadObjectStoreUriFailsWithoutShowingItsSecret() {
        String creds = "accessKey=AKIDEXAMPLE&secretKey=" + SECRET;
        List<String> uris = List.of(
                "s3://bucket/p?region=us-east-1&" + creds + "&bogus=1",
                "s3://bucket/p?sessionToken=" + SECRET,
                "s3://AKIDEXAMPLE:" + SECRET + "@bucket/p",
                "s3://bucket/p?region=&" + creds,
                "s3://bucket/p?endpoint=relative/path&" + creds,
                "s3://bucket/p?partSizeBytes=abc&" + creds,
                "s3://bucket/p?secretKey=" + SECRET,
                "s3:///p?" + creds,
                "gs://bucket/p?" + creds,
                "file://" + tmp.resolve("objects") + "?" + creds);
        try (LogCapture logs = LogCapture.capture()) {
            int n = 0;
            for (String text : uris) {
                Strata.Builder builder = Strata.builder().dataDir(tmp.resolve("store-" + n++)).objectStore(URI.create(text));
                Throwable failure = null;
                try (DurableStreamStore store = builder.build()) {
                    throw new AssertionError("opened a store on a bad URI: " + store);
                } catch (RuntimeException e) {
                    failure = e;
                }
                StringWriter all = new StringWriter();
                failure.printStackTrace(new PrintWriter(all));
                for (Throwable c = failure; c != null; c = c.getCause()) {
                    all.append('\n').append(String.valueOf(c.getMessage())).append('\n').append(c.toString());
                }
                assertThat(all.toString()).as("failure #%d", n).doesNotContain(SECRET);
            }
            assertThat(logs.lines()).noneMatch(line -> line.contains(SECRET));
        }
    }
}
