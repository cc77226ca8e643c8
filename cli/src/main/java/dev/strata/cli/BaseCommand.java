package dev.strata.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * What every subcommand shares: {@code --json}, the output stream, the problem list and the exit
 * code (0 if no problem was found, 1 otherwise; errors reaching the store are 2, see
 * {@link StrataCli}).
 */
abstract class BaseCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "print one JSON document instead of text")
    boolean json;

    final List<Problem> problems = new ArrayList<>();

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    /** Prints {@code document} as JSON (with the problems added), or the problems after the text already printed. */
    int finish(Map<String, Object> document) {
        PrintWriter out = out();
        if (json) {
            List<Object> list = new ArrayList<>();
            problems.forEach(p -> list.add(p.toJson()));
            document.put("problems", list);
            document.put("ok", problems.isEmpty());
            out.println(Json.write(document));
        } else {
            for (Problem p : problems) {
                out.println(p);
            }
            out.println(problems.isEmpty() ? "OK" : problems.size() + " problem(s) found");
        }
        out.flush();
        return problems.isEmpty() ? ExitCodes.OK : ExitCodes.PROBLEMS;
    }

    /** Prints a text line unless the output is JSON. */
    void text(String line) {
        if (!json) {
            out().println(line);
        }
    }
}
