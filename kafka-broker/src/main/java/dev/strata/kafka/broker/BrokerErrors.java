package dev.strata.kafka.broker;

import dev.strata.kafka.KafkaLogException;
import java.util.concurrent.CompletionException;
import org.apache.kafka.common.protocol.Errors;

/** Maps a failure to the Kafka error code a response carries. */
final class BrokerErrors {
    private BrokerErrors() {
    }

    /**
     * The code for {@code failure}: a {@link KafkaLogException}'s own, Kafka's for its
     * {@code ApiException}s (e.g. {@code TopicExistsException}), UNKNOWN_SERVER_ERROR otherwise.
     */
    static Errors of(Throwable failure) {
        Throwable t = unwrap(failure);
        if (t instanceof KafkaLogException k) {
            return k.error();
        }
        return Errors.forException(t);
    }

    static Throwable unwrap(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
