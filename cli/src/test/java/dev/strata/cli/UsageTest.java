package dev.strata.cli;

import static dev.strata.cli.CliTestSupport.run;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad arguments and unreachable stores exit 2 with a message on stderr. */
class UsageTest {

    @Test
    void noSubcommand() {
        CliTestSupport.Result r = run();
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE_OR_ACCESS);
        assertThat(r.err()).contains("a subcommand is required").contains("verify");
    }

    @Test
    void unknownSubcommandOrOption(@TempDir Path dir) {
        assertThat(run("frobnicate").exitCode()).isEqualTo(ExitCodes.USAGE_OR_ACCESS);
        CliTestSupport.Result r = run("verify", "--data-dir", dir, "--bogus");
        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE_OR_ACCESS);
        assertThat(r.err()).contains("--bogus");
    }

    @Test
    void helpOfACommandExitsZero() {
        CliTestSupport.Result r = run("verify", "--help");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.out()).contains("--deep").contains("--data-dir").contains("--wal-path").contains("--json");
    }

    @Test
    void noStoreGiven() {
        CliTestSupport.Result r = run("info");
        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE_OR_ACCESS);
        assertThat(r.err()).contains("set --data-dir DIR or --object-store URI");
    }

    @Test
    void missingDirectoriesAndFiles(@TempDir Path dir) {
        CliTestSupport.Result r = run("verify", "--data-dir", dir.resolve("absent"));
        assertThat(r.exitCode()).isEqualTo(ExitCodes.USAGE_OR_ACCESS);
        assertThat(r.err()).contains("not a directory");
        CliTestSupport.Result o = run("verify", "--object-store", dir.resolve("absent").toUri());
        assertThat(o.exitCode()).isEqualTo(ExitCodes.USAGE_OR_ACCESS);
        assertThat(o.err()).contains("object directory does not exist");
        CliTestSupport.Result w = run("dump-wal", dir.resolve("absent.wal"));
        assertThat(w.exitCode()).isEqualTo(ExitCodes.USAGE_OR_ACCESS);
        assertThat(w.err()).contains("no such WAL file");
        assertThat(dir.resolve("absent")).doesNotExist(); // nothing created
    }

    @Test
    void unknownObjectAndStream(@TempDir Path dir) {
        CliTestSupport.closedStore(dir, 1, 2);
        CliTestSupport.Result r = run("dump-object", "0000/sso/00000000000000000001", "--data-dir", dir);
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.USAGE_OR_ACCESS);
        assertThat(r.err()).contains("0000/sso/00000000000000000001");
        CliTestSupport.Result s = run("dump-stream", 424242, "--data-dir", dir);
        assertThat(s.exitCode()).isEqualTo(ExitCodes.USAGE_OR_ACCESS);
        assertThat(s.err()).contains("no stream 424242");
        CliTestSupport.Result both = run("dump-stream", 0, "--hex", "--text", "--data-dir", dir);
        assertThat(both.exitCode()).isEqualTo(ExitCodes.USAGE_OR_ACCESS);
    }

    @Test
    void fsckRepairNeedsALockableLocalStore(@TempDir Path dir) {
        CliTestSupport.closedStore(dir, 1, 2);
        CliTestSupport.Result noLock = run("fsck", "--repair", "--object-store", dir.resolve("objects").toUri());
        assertThat(noLock.exitCode()).as(noLock.toString()).isEqualTo(ExitCodes.USAGE_OR_ACCESS);
        assertThat(noLock.err()).contains("--repair needs --data-dir or --wal-path");
        CliTestSupport.Result s3 = run("fsck", "--repair", "--object-store", "s3://bucket/prefix?region=us-east-1");
        assertThat(s3.exitCode()).as(s3.toString()).isEqualTo(ExitCodes.USAGE_OR_ACCESS);
        assertThat(s3.err()).contains("--repair works on file: object stores only");
        CliTestSupport.Result negative = run("fsck", "--repair", "--orphan-ttl", "PT-1S", "--data-dir", dir);
        assertThat(negative.exitCode()).isEqualTo(ExitCodes.USAGE_OR_ACCESS);
    }
}
