package dev.strata.core.upload;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How an upload divides the shared streams among stream-set objects written in parallel. */
class UploaderSplitTest {
    private static final long MIB = 1 << 20;

    @Test
    void littleDataStaysInOneObject() {
        assertThat(Uploader.splitForParallelWrite(List.of(1L, 2L, 3L), Map.of(1L, 3 * MIB, 2L, 3 * MIB, 3L, 3 * MIB)))
                .containsExactly(List.of(1L, 2L, 3L));
        assertThat(Uploader.splitForParallelWrite(List.of(), Map.of())).isEmpty();
    }

    @Test
    void enoughDataIsSplitIntoRunsOfAboutEqualBytesInStreamOrder() {
        Map<Long, Long> bytes = Map.of(1L, 4 * MIB, 2L, 4 * MIB, 3L, 4 * MIB, 4L, 4 * MIB, 5L, 1 * MIB);
        List<List<Long>> groups = Uploader.splitForParallelWrite(List.of(1L, 2L, 3L, 4L, 5L), bytes);
        assertThat(groups).containsExactly(List.of(1L, 2L, 3L), List.of(4L, 5L));
    }

    @Test
    void oneHugeStreamCannotBeSplit() {
        assertThat(Uploader.splitForParallelWrite(List.of(7L), Map.of(7L, 100 * MIB))).containsExactly(List.of(7L));
    }
}
