package dev.strata.jmh.runner;

/** One workload scenario: runs against fresh stores from its {@link RunContext} and reports figures. */
interface Scenario {

    /** The scenarios, in the order the default run takes them. */
    enum Kind {
        INGEST, TAIL, REPLAY, BURST, RECOVERY, RETENTION;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        Scenario create() {
            return switch (this) {
                case INGEST -> new IngestScenario();
                case TAIL -> new TailScenario();
                case REPLAY -> new ReplayScenario();
                case BURST -> new BurstScenario();
                case RECOVERY -> new RecoveryScenario();
                case RETENTION -> new RetentionScenario();
            };
        }
    }

    /**
     * Runs the scenario to the end, including its verification.
     *
     * @throws VerificationException if a record did not read back as appended
     * @throws Exception if the store failed in a way other than retriable backpressure
     */
    ScenarioResult run(RunContext context) throws Exception;
}
