package dev.strata.core;

import java.util.Optional;
import java.util.function.Supplier;

/**
 * Who is acting, as the embedding application names its callers (a user, a service, a broker
 * client id), for {@link AuditEvent#actor()}: calls to a store made inside {@link #call} carry it.
 * The actor is taken when the call is made (on the calling thread) and reported with the event when
 * the change is durable, whatever thread completes it.
 *
 * <pre>{@code
 * AuditActor.call("ops:alice", () -> store.deleteStream(id, epoch)).join();
 * }</pre>
 *
 * Thread-safe: the actor is per thread, and restored after the call.
 */
public final class AuditActor {
    private static final ThreadLocal<String> CURRENT = new ThreadLocal<>();

    private AuditActor() {
    }

    /**
     * Runs {@code action} with {@code actor} as the current actor of this thread.
     *
     * @throws IllegalArgumentException if {@code actor} is null or blank
     */
    public static <T> T call(String actor, Supplier<T> action) {
        if (actor == null || actor.isBlank()) {
            throw new IllegalArgumentException("actor must not be null or blank");
        }
        String previous = CURRENT.get();
        CURRENT.set(actor);
        try {
            return action.get();
        } finally {
            if (previous == null) {
                CURRENT.remove();
            } else {
                CURRENT.set(previous);
            }
        }
    }

    /** This thread's current actor, if a {@link #call} is running on it. */
    public static Optional<String> current() {
        return Optional.ofNullable(CURRENT.get());
    }
}
