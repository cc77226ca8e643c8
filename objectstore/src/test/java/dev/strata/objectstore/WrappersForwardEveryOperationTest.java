package dev.strata.objectstore;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A wrapper of {@link ObjectStorage} must implement every operation itself: an operation the SPI
 * gives a do-nothing default (such as {@link ObjectStorage#listIncompleteUploads()}) would otherwise
 * silently answer with the default instead of reaching the store underneath. That happened once:
 * the engine's open-deadline wrapper swallowed the sweep of abandoned uploads. Only convenience
 * overloads that call another operation of the interface may be left to the default. Used by the
 * wrappers' own modules: {@link #operationsNotImplementedBy(Class)}.
 */
public class WrappersForwardEveryOperationTest {

    /** Defaults that only call another operation of the interface, so every wrapper gets them right. */
    private static boolean isConvenienceOverload(Method m) {
        return m.getName().equals("put") && Arrays.equals(m.getParameterTypes(), new Class<?>[] {String.class, ByteBuf.class});
    }

    /** The operations of {@link ObjectStorage} that {@code wrapper} does not implement itself. */
    public static List<String> operationsNotImplementedBy(Class<? extends ObjectStorage> wrapper) {
        List<String> missing = new ArrayList<>();
        for (Method m : ObjectStorage.class.getMethods()) {
            if (Modifier.isStatic(m.getModifiers()) || isConvenienceOverload(m)) {
                continue;
            }
            try {
                Method impl = wrapper.getMethod(m.getName(), m.getParameterTypes());
                if (impl.getDeclaringClass() == ObjectStorage.class) {
                    missing.add(m.getName());
                }
            } catch (NoSuchMethodException e) {
                missing.add(m.getName());
            }
        }
        return missing;
    }

    @org.junit.jupiter.api.Test
    void theRetryLayerForwardsEveryOperation() {
        assertThat(operationsNotImplementedBy(RetryingObjectStorage.class)).isEmpty();
    }

    @org.junit.jupiter.api.Test
    void theTestKitsWrappersForwardEveryOperation() {
        assertThat(operationsNotImplementedBy(dev.strata.objectstore.testing.FaultInjectingObjectStorage.class)).isEmpty();
        assertThat(operationsNotImplementedBy(dev.strata.objectstore.ForwardingObjectStorage.class)).isEmpty();
    }
}
