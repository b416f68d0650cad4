package io.ssmspark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.testing.PackageGraph;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** ssm-model's packages depend on each other without cycles (config, tensor, layers, ssd, mixer, checkpoint, lm...). */
class PackageDependenciesTest {
    @Test
    void packagesFormNoCycle() throws IOException {
        Map<String, Set<String>> uses =
                PackageGraph.read(Path.of("src/main/java/io/ssmspark/model"), "io.ssmspark.model");
        assertTrue(uses.containsKey("mixer") && uses.containsKey("checkpoint"), "the packages were read: " + uses);
        assertEquals(List.of(), PackageGraph.cycle(uses), "a cycle among " + uses);
    }
}
