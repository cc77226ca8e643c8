package dev.strata.cli;

import dev.strata.api.CorruptDataException;
import dev.strata.api.UnsupportedFormatVersionException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code strata} command: {@code java -jar cli/target/strata.jar <subcommand> [options]}.
 *
 * <p>Exit codes (the same for every subcommand): 0 done and nothing wrong found, 1 problems found
 * (each printed with its key and offsets), 2 bad arguments or the store could not be reached or
 * read. Every subcommand is read-only but {@code fsck --repair}.
 */
public final class StrataCli {

    private StrataCli() {
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /**
     * Runs one command line and returns its exit code; for tests and embedding. Output goes to
     * {@code out} (results) and {@code err} (usage and errors).
     */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = commandLine();
        cl.setOut(out);
        cl.setErr(err);
        int code = cl.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Root());
        cl.setExitCodeExceptionMapper(e -> ExitCodes.USAGE_OR_ACCESS);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            String what = e instanceof UnsupportedFormatVersionException ? "unsupported format version"
                    : e instanceof CorruptDataException ? "corrupt data" : e.getClass().getSimpleName();
            cmd.getErr().println("strata " + cmd.getCommandName() + ": " + what + ": " + e.getMessage());
            cmd.getErr().flush();
            return ExitCodes.USAGE_OR_ACCESS;
        });
        cl.setParameterExceptionHandler((e, args) -> {
            CommandLine cmd = e.getCommandLine();
            cmd.getErr().println("strata: " + e.getMessage());
            cmd.usage(cmd.getErr());
            cmd.getErr().flush();
            return ExitCodes.USAGE_OR_ACCESS;
        });
        return cl;
    }

    /** The top-level command; without a subcommand it is a usage error. */
    @Command(name = "strata", mixinStandardHelpOptions = true, version = "strata 0.1.0-SNAPSHOT",
            description = "Inspects and checks a Strata store (read-only: it takes no lock and writes nothing, so the"
                    + " store may be open elsewhere; except fsck --repair, which takes the store's locks).",
            subcommands = {InfoCommand.class, StreamsCommand.class, VerifyCommand.class, DumpWalCommand.class,
                    DumpObjectCommand.class, DumpStreamCommand.class, FsckCommand.class},
            exitCodeListHeading = "%nExit codes:%n",
            exitCodeList = {"0:done, nothing wrong found", "1:problems found", "2:usage error, or the store could not be read"})
    static final class Root implements Runnable {
        @Spec
        CommandSpec spec;

        @Override
        public void run() {
            throw new ParameterException(spec.commandLine(), "a subcommand is required");
        }
    }
}
