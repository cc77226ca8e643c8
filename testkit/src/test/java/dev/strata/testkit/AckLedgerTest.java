package dev.strata.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class AckLedgerTest {
    @Test
    void recordsAcknowledgementsPerStreamAndTheHighestTrim() {
        AckLedger ledger = new AckLedger();
        ledger.ack(1, 0, 100);
        ledger.ack(1, 3, 101);
        ledger.ack(2, 0, 200);
        ledger.trim(1, 3);
        ledger.trim(1, 2); // a lower trim acknowledged later changes nothing
        assertThat(ledger.acknowledged()).isEqualTo(3);
        assertThat(ledger.of(1)).containsExactly(java.util.Map.entry(0L, 100L), java.util.Map.entry(3L, 101L));
        assertThat(ledger.trimmed(1)).isEqualTo(3);
        assertThat(ledger.trimmed(2)).isZero();
        assertThat(ledger.streams()).containsExactly(1L, 2L);
    }

    @Test
    void anOffsetAcknowledgedTwiceFailsUnlessForgotten() {
        AckLedger ledger = new AckLedger();
        ledger.ack(7, 10, 1);
        assertThatThrownBy(() -> ledger.ack(7, 10, 2)).isInstanceOf(AssertionError.class)
                .hasMessageContaining("offset 10 of stream 7 acknowledged twice");
        ledger.forget(7, 10);
        ledger.ack(7, 10, 2); // a loss the test accepted: the offset may be assigned again
        assertThat(ledger.of(7)).containsEntry(10L, 2L);
    }
}
