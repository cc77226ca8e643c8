package dev.strata.jmh.runner;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class BurstRecoveryTimeTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    private static Timeline timeline() {
        return new Timeline(0, 100 * MS, 12);
    }

    private static void steadyAcks(Timeline t, int fromWindow, int toWindow, long latencyNanos) {
        for (int i = fromWindow; i < toWindow; i++) {
            t.ack(i * 100 * MS + 1, latencyNanos);
        }
    }

    @Test
    void recoveryEndsWithTheLastWindowWithBackpressureOrHighLatency() {
        Timeline steady = timeline();
        Timeline storm = timeline();
        steadyAcks(steady, 0, 11, MS);
        steady.ack(5 * 100 * MS + 2, 50 * MS); // window 5: mean way above 2x baseline
        storm.backpressure(3 * 100 * MS + 5);
        assertThat(BurstScenario.recoverySeconds(steady, storm, 200 * MS, MS)).isEqualTo(0.4);
    }

    @Test
    void aStormWithoutEffectRecoversAtOnce() {
        Timeline steady = timeline();
        steadyAcks(steady, 0, 11, MS);
        assertThat(BurstScenario.recoverySeconds(steady, timeline(), 200 * MS, MS)).isZero();
    }

    @Test
    void unsteadyUntilTheEndIsReportedAsNotReached() {
        Timeline steady = timeline();
        steadyAcks(steady, 0, 3, MS);
        steadyAcks(steady, 3, 11, 40 * MS);
        assertThat(BurstScenario.recoverySeconds(steady, timeline(), 200 * MS, MS)).isNaN();
    }
}
