package dev.strata.jmh.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tiny takeover run completes and B reads back every batch A acknowledged; its time is not asserted. */
class TakeoverTimeTest {
    @TempDir
    Path bucket;

    @Test
    void aTakeoverOfAFewMebibytesReplaysAndVerifiesEveryBatch() throws Exception {
        TakeoverTime.Result r = TakeoverTime.run(bucket, 4);
        assertThat(r.verifiedBatches()).isEqualTo(64);
        assertThat(r.replayedRecords()).as("every batch came from A's WAL objects").isEqualTo(64);
        assertThat(r.walBytes()).isGreaterThan(4L << 20);
        assertThat(r.walObjects()).isPositive();
    }

    @Test
    void aTakeoverFromTheInProcessS3ServerWithLatencyOnEveryRequestVerifiesEveryBatch() throws Exception {
        TakeoverTime.Result r = TakeoverTime.run(bucket, 4, true, 5);
        assertThat(r.verifiedBatches()).isEqualTo(64);
        assertThat(r.replayedRecords()).isEqualTo(64);
        assertThat(r.walBytes()).isGreaterThan(4L << 20);
        assertThat(r.takeoverNanos()).as("at least one round trip: the listing").isGreaterThan(5_000_000L);
    }
}
