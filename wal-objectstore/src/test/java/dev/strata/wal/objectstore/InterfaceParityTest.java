package dev.strata.wal.objectstore;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.wal.WriteAheadLog;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link ObjectStoreWal} cannot declare {@link WriteAheadLog} yet (its {@code recover()} returns a
 * final class only the block-device package can build): this test keeps every other method in step
 * with the interface, so that declaring it at the move to wal-api is a one-line change.
 */
class InterfaceParityTest {

    @Test
    void everyMethodOfWriteAheadLogExistsWithTheSameSignature() throws NoSuchMethodException {
        List<String> missing = new ArrayList<>();
        for (Method m : WriteAheadLog.class.getMethods()) {
            if (Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            Method ours;
            try {
                ours = ObjectStoreWal.class.getMethod(m.getName(), m.getParameterTypes());
            } catch (NoSuchMethodException e) {
                missing.add(m.getName() + Arrays.toString(m.getParameterTypes()));
                continue;
            }
            if (m.getName().equals("recover")) {
                assertThat(ours.getReturnType()).isEqualTo(ObjectWalRecovery.class);
            } else {
                assertThat(ours.getReturnType()).as(m.getName()).isEqualTo(m.getReturnType());
            }
        }
        assertThat(missing).isEmpty();
        assertThat(ObjectWalRecovery.class.getMethod("lostRegionsSoFar").getReturnType()).isEqualTo(List.class);
        assertThat(ObjectWalRecovery.class.getMethod("report").getReturnType())
                .isEqualTo(dev.strata.wal.RecoveryReport.class);
    }
}
