package dev.strata.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.api.BackpressureException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class InFlightReadBudgetTest {
    private final FakeTicker ticker = new FakeTicker();
    private final InFlightReadBudget budget = new InFlightReadBudget(100, 50, 2, 1_000_000_000L, ticker);
    private final List<String> events = new ArrayList<>();

    @Test
    void loadLargerThanTheWholeBudgetIsAdmittedWhenNothingElseIsInFlight() {
        assertThat(budget.acquireOrWait(500, () -> events.add("start"), e -> events.add("reject"))).isTrue();
        assertThat(budget.inFlightBytes()).isEqualTo(500);
        budget.release(500);
        assertThat(budget.inFlightBytes()).isZero();
    }

    @Test
    void waitingDemandLoadsStartInFifoOrderAsBytesAreReleased() {
        assertThat(budget.acquireOrWait(80, () -> events.add("a"), e -> events.add("reject a"))).isTrue();
        assertThat(budget.acquireOrWait(30, () -> events.add("b"), e -> events.add("reject b"))).isFalse();
        assertThat(budget.acquireOrWait(10, () -> events.add("c"), e -> events.add("reject c"))).isFalse();
        assertThatThrownBy(() -> budget.acquireOrWait(1, () -> { }, e -> { }))
                .isInstanceOf(BackpressureException.class).hasMessageContaining("waitingLoads=2");
        budget.release(80);
        assertThat(events).containsExactly("b", "c");
        assertThat(budget.inFlightBytes()).isEqualTo(40);
    }

    @Test
    void readAheadNeverJumpsAheadOfWaitingDemandAndKeepsToItsShare() {
        assertThat(budget.tryAcquirePrefetch(50)).isTrue();
        assertThat(budget.tryAcquirePrefetch(1)).isFalse(); // its share is 50
        assertThat(budget.acquireOrWait(40, () -> events.add("demand"), e -> { })).isTrue();
        assertThat(budget.acquireOrWait(40, () -> events.add("waiting"), e -> { })).isFalse();
        budget.release(50);
        assertThat(events).containsExactly("waiting");
        assertThat(budget.tryAcquirePrefetch(10)).isFalse(); // 80 in flight, share exhausted
    }
}
