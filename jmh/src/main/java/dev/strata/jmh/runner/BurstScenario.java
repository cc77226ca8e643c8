package dev.strata.jmh.runner;

/** Placeholder. */
final class BurstScenario implements Scenario {
    @Override
    public ScenarioResult run(RunContext context) {
        throw new UnsupportedOperationException("not yet");
    }
}
