package dev.strata.wal.objectstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ObjectWalOptionsTest {

    @Test
    void defaultsAreWhatTheJavadocSays() {
        ObjectWalOptions o = ObjectWalOptions.defaults("node-1");
        assertThat(o.flushBytes()).isEqualTo(8 << 20);
        assertThat(o.flushIntervalNanos()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(50))
                .isBetween(TimeUnit.MILLISECONDS.toNanos(10), TimeUnit.MILLISECONDS.toNanos(250));
        assertThat(o.maxBufferedBytes()).isGreaterThanOrEqualTo(o.flushBytes());
        assertThat(o.maxRecordBytes()).isLessThan(o.maxBufferedBytes());
        assertThat(o.earlyFlush()).isEqualTo(ObjectWalOptions.DEFAULT_EARLY_FLUSH);
        assertThat(ObjectWalOptions.builder("p").earlyFlush(!o.earlyFlush()).build().earlyFlush()).isNotEqualTo(o.earlyFlush());
    }

    @Test
    void eachSetterNamesTheOptionAndTheValueItRefuses() {
        ObjectWalOptions.Builder b = ObjectWalOptions.builder("p");
        assertThatThrownBy(() -> b.flushBytes(100)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("flushBytes").hasMessageContaining("100");
        assertThatThrownBy(() -> b.flushIntervalNanos(0)).hasMessageContaining("flushIntervalNanos");
        assertThatThrownBy(() -> b.maxPutsInFlight(0)).hasMessageContaining("maxPutsInFlight");
        assertThatThrownBy(() -> b.maxBufferedBytes(-1)).hasMessageContaining("maxBufferedBytes");
        assertThatThrownBy(() -> b.capacityBytes(0)).hasMessageContaining("capacityBytes");
        assertThatThrownBy(() -> b.maxPutAttempts(0)).hasMessageContaining("maxPutAttempts");
        assertThatThrownBy(() -> b.retryBackoffNanos(-1)).hasMessageContaining("retryBackoffNanos");
        assertThatThrownBy(() -> b.recoveryReadAhead(0)).hasMessageContaining("recoveryReadAhead");
    }

    @Test
    void buildRefusesBuffersOrCapacitySmallerThanOneObject() {
        assertThatThrownBy(() -> ObjectWalOptions.builder("p").flushBytes(1 << 20).maxBufferedBytes(1000).build())
                .hasMessageContaining("maxBufferedBytes must be >= flushBytes");
        assertThatThrownBy(() -> ObjectWalOptions.builder("p").flushBytes(1 << 20).capacityBytes(1000).build())
                .hasMessageContaining("capacityBytes must be >= flushBytes");
    }

    @Test
    void prefixesWithEmptyOrDotSegmentsAreRefused() {
        assertThatThrownBy(() -> ObjectWalOptions.builder("a//b")).hasMessageContaining("prefix");
        assertThatThrownBy(() -> ObjectWalOptions.builder("/a")).hasMessageContaining("prefix");
        assertThatThrownBy(() -> ObjectWalOptions.builder("a/..")).hasMessageContaining("prefix");
        assertThat(ObjectWalOptions.builder("").build().prefix()).isEmpty();
    }
}
