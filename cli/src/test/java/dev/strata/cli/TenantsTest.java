package dev.strata.cli;

import static dev.strata.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.api.RecordBatch;
import dev.strata.api.Stream;
import dev.strata.api.StreamOptions;
import dev.strata.core.DurableStreamStore;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code strata streams --tenant/--tag} on a store whose streams carry tenants and tags. */
class TenantsTest {

    @TempDir
    static Path dir;
    static long plain;
    static long acmePress;
    static long acmeOven;
    static long globexPress;

    @BeforeAll
    static void buildStore() {
        try (DurableStreamStore store = CliTestSupport.builder(dir).build()) {
            plain = create(store, StreamOptions.defaults());
            acmePress = create(store, StreamOptions.defaults().withTenant("acme").withTag("line", "press"));
            acmeOven = create(store, StreamOptions.defaults().withTenant("acme").withTag("line", "oven"));
            globexPress = create(store, StreamOptions.defaults().withTenant("globex").withTag("line", "press"));
        }
    }

    private static long create(DurableStreamStore store, StreamOptions options) {
        Stream s = store.createStream(options).join();
        s.append(RecordBatch.of(1, ByteBuffer.wrap(new byte[] {1, 2, 3}))).join();
        return s.id();
    }

    @Test
    void everyStreamIsListedWithItsTenantAndTags() {
        CliTestSupport.Result r = run("streams", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).containsPattern("(?m)^" + plain + " .* - +-$")
                .containsPattern("(?m)^" + acmePress + " .* acme +\\{line=press\\}$")
                .contains("4 streams");
    }

    @Test
    void aTenantsStreamsOnly() {
        CliTestSupport.Result r = run("streams", "--tenant", "acme", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).containsPattern("(?m)^" + acmePress + " ").containsPattern("(?m)^" + acmeOven + " ")
                .doesNotContainPattern("(?m)^" + plain + " ").doesNotContainPattern("(?m)^" + globexPress + " ")
                .contains("2 streams");
    }

    @Test
    void tagsAndTenantTogetherAndAsJson() {
        CliTestSupport.Result r = run("streams", "--tag", "line=press", "--json", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("\"id\": " + acmePress).contains("\"id\": " + globexPress)
                .doesNotContain("\"id\": " + acmeOven).contains("\"tenant\": \"globex\"").contains("\"line\": \"press\"");
        CliTestSupport.Result both = run("streams", "--tenant", "globex", "--tag", "line=press", "--data-dir", dir);
        assertThat(both.out()).containsPattern("(?m)^" + globexPress + " ").contains("1 streams");
    }

    @Test
    void anInvalidTenantIsAUsageError() {
        CliTestSupport.Result r = run("streams", "--tenant", "not a tenant", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE_OR_ACCESS);
        assertThat(r.err()).contains("tenant");
    }
}
