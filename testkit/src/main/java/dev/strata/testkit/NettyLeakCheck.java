package dev.strata.testkit;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.lang.ref.PhantomReference;
import java.lang.ref.ReferenceQueue;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import net.jqwik.api.lifecycle.AfterContainerHook;
import net.jqwik.api.lifecycle.ContainerLifecycleContext;
import net.jqwik.api.lifecycle.PropagationMode;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;

/**
 * Makes a leaked Netty buffer fail the test run.
 *
 * <p>Three registrations, all through {@code META-INF/services} in a module's test resources:
 * <ul>
 *   <li>{@link LauncherSessionListener}: installs, before any test creates a buffer, a leak detector
 *       factory that records every leak report (Netty only logs them). Leak detection runs at
 *       {@code PARANOID}: every buffer is tracked.</li>
 *   <li>JUnit Jupiter extension ({@link AfterAllCallback}, with
 *       {@code junit.jupiter.extensions.autodetection.enabled=true}): after each test class, forces a
 *       collection and fails the class if any leak was recorded.</li>
 *   <li>jqwik {@link AfterContainerHook}: the same after each jqwik container.</li>
 * </ul>
 * A leak is reported by Netty only after the leaked buffer was garbage collected and another buffer
 * was allocated, so {@link #collectLeaks()} runs a collection, waits for reference processing on a
 * sentinel reference, then allocates to make the detector drain its queue.
 */
public final class NettyLeakCheck implements LauncherSessionListener, AfterAllCallback, AfterContainerHook {

    /**
     * Collections per check. A leak is reported only once its weak reference has been enqueued by
     * the JDK's reference handler, which can lag behind the collection that cleared it; a few
     * rounds of collect-then-allocate make a leak from the test just finished show up reliably.
     */
    private static final int COLLECTION_ROUNDS = 4;

    private static final ConcurrentLinkedQueue<String> LEAKS = new ConcurrentLinkedQueue<>();
    private static volatile boolean installed;

    /** Installs the recording detector factory; idempotent. Must run before the first ByteBuf is created. */
    public static synchronized void install() {
        if (installed) {
            return;
        }
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
        installed = true;
    }

    /**
     * Runs a garbage collection, lets Netty report what it found, and returns (and forgets) every
     * leak recorded since the last call.
     */
    public static List<String> collectLeaks() {
        for (int round = 0; round < COLLECTION_ROUNDS; round++) {
            awaitOneCollection();
            // Allocating makes each detector poll its reference queue and report what it finds.
            ByteBuf pooled = PooledByteBufAllocator.DEFAULT.directBuffer(1);
            pooled.release();
            ByteBuf pooledHeap = PooledByteBufAllocator.DEFAULT.heapBuffer(1);
            pooledHeap.release();
            ByteBuf unpooled = UnpooledByteBufAllocator.DEFAULT.directBuffer(1);
            unpooled.release();
        }
        List<String> leaks = new ArrayList<>();
        for (String leak; (leak = LEAKS.poll()) != null; ) {
            leaks.add(leak);
        }
        return leaks;
    }

    /** Throws {@link AssertionError} naming every leak recorded since the last check. */
    public static void assertNoLeaks(String where) {
        List<String> leaks = collectLeaks();
        if (!leaks.isEmpty()) {
            throw new AssertionError("Netty buffer leak(s) detected after " + where + ": " + leaks.size()
                    + "\n" + String.join("\n----\n", leaks));
        }
    }

    private static void awaitOneCollection() {
        ReferenceQueue<Object> queue = new ReferenceQueue<>();
        PhantomReference<Object> sentinel = new PhantomReference<>(new Object(), queue);
        try {
            for (int i = 0; i < 50 && queue.poll() == null; i++) {
                System.gc();
                if (queue.remove(100) != null) {
                    break;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        java.lang.ref.Reference.reachabilityFence(sentinel);
    }

    @Override
    public void launcherSessionOpened(LauncherSession session) {
        install();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        assertNoLeaks(context.getDisplayName());
    }

    @Override
    public void afterContainer(ContainerLifecycleContext context) {
        assertNoLeaks(context.label());
    }

    @Override
    public PropagationMode propagateTo() {
        return PropagationMode.ALL_DESCENDANTS;
    }

    @Override
    public boolean appliesTo(java.util.Optional<java.lang.reflect.AnnotatedElement> element) {
        // Only after test classes, not after every jqwik property method.
        return element.map(e -> e instanceof Class<?>).orElse(false);
    }

    private static final class RecordingFactory extends ResourceLeakDetectorFactory {
        @Override
        @SuppressWarnings("deprecation")
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval, long maxActive) {
            return new ResourceLeakDetector<T>(resource, samplingInterval, maxActive) {
                @Override
                protected void reportTracedLeak(String resourceType, String records) {
                    LEAKS.add("LEAK " + resourceType + records);
                    super.reportTracedLeak(resourceType, records);
                }

                @Override
                protected void reportUntracedLeak(String resourceType) {
                    LEAKS.add("LEAK " + resourceType + " (untraced)");
                    super.reportUntracedLeak(resourceType);
                }
            };
        }
    }
}
