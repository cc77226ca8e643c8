package dev.strata.jmh.runner;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The workload runner's entry point ({@code java -jar jmh/target/strata-bench.jar --help}): parses
 * the options, runs the chosen scenarios one after another on fresh stores, prints the table and
 * writes the JSON report and, if asked, the HTML chart. Exit status 0 when every scenario completed
 * and verified, 1 when one failed, 2 on a wrong argument.
 */
public final class WorkloadRunner {
    private WorkloadRunner() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs the command line; returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        RunnerOptions options;
        try {
            options = RunnerOptions.parse(args);
        } catch (IllegalArgumentException e) {
            err.println("strata-bench: " + e.getMessage());
            err.print(RunnerOptions.usage());
            return 2;
        }
        if (options.help()) {
            out.print(RunnerOptions.usage());
            return 0;
        }
        try {
            return runScenarios(options, out, err);
        } catch (Exception e) {
            err.println("strata-bench: " + e);
            return 1;
        }
    }

    private static int runScenarios(RunnerOptions options, PrintStream out, PrintStream err) throws Exception {
        List<String> baseline = options.baseline() ? DiskBaseline.run(options.dir(), err) : List.of();
        List<ScenarioResult> results = new ArrayList<>();
        int failed = 0;
        try (Progress progress = new Progress(err)) {
            RunContext context = new RunContext(options, progress);
            context.baseline(baseline);
            try {
                for (Scenario.Kind kind : options.scenarios()) {
                    err.printf("strata-bench: %s (%s)...%n", kind.label(), options.duration());
                    try {
                        WakeupProbe probe = new WakeupProbe().start(); // the machine's floor, beside the run
                        ScenarioResult r = kind.create().run(context);
                        probe.stopInto(r);
                        r.add("verification", "passed", "");
                        results.add(r);
                    } catch (Exception | AssertionError e) {
                        progress.end();
                        failed++;
                        err.println("strata-bench: " + kind.label() + " FAILED: " + e);
                        results.add(new ScenarioResult(kind.label()).add("verification", "FAILED: " + e, ""));
                    }
                }
            } finally {
                context.cleanUp();
            }
        }
        out.println(Conditions.describe(options));
        out.print(ReportTable.render(results, baseline));
        if (options.json() != null) {
            JsonReport.write(options.json(), options, results, baseline);
            out.println("JSON report: " + options.json().toAbsolutePath());
        }
        if (options.plot() != null) {
            LatencyChart.write(options.plot(), results);
            out.println("latency chart: " + options.plot().toAbsolutePath());
        }
        return failed == 0 ? 0 : 1;
    }
}
