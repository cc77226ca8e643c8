package dev.strata.core.golden;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Runs {@link GoldenStoreGenerator} when {@code -Dstrata.golden.out=DIR} is set (the command is in
 * docs/formats.md): surefire gives the generator's child JVM the test class path. Skipped otherwise.
 */
@EnabledIfSystemProperty(named = "strata.golden.out", matches = ".+")
class GoldenStoreGeneratorRun {

    @Test
    void generate() throws Exception {
        Path out = GoldenStoreGenerator.generate(Path.of(System.getProperty("strata.golden.out")));
        System.out.println("golden store written: " + out);
        assertThat(Files.isDirectory(out.resolve(GoldenStores.STORE))).isTrue();
    }
}
