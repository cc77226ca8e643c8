package dev.strata.cli;

import dev.strata.core.DurableStreamStore;
import java.nio.file.Path;

/**
 * A child JVM ({@code ChildJvm}) that opens the store at {@code args[0]} as {@link CliTestSupport#builder}
 * does, prints {@code READY} and keeps it open until it is killed.
 */
public final class OpenStoreChild {
    private OpenStoreChild() {
    }

    public static void main(String[] args) throws InterruptedException {
        DurableStreamStore store = CliTestSupport.builder(Path.of(args[0])).build();
        System.out.println("READY " + store.recoveryReport().recordsReplayed());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
