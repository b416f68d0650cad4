package io.ssmspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.testing.PackageGraph;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The packages of spark-jobs depend on each other without cycles, and none depends on the composition root
 * (io.ssmspark.jobs: Main and the Kryo registrator, which name classes of every package).
 */
class PackageDependenciesTest {
    @Test
    void packagesFormNoCycleAndOnlyTheRootDependsOnTheRoot() throws IOException {
        Map<String, Set<String>> uses =
                PackageGraph.read(Path.of("src/main/java/io/ssmspark/jobs"), "io.ssmspark.jobs");
        assertTrue(uses.containsKey("") && uses.containsKey("train"), "the packages were read: " + uses);
        for (Map.Entry<String, Set<String>> e : uses.entrySet()) {
            if (!e.getKey().isEmpty()) {
                assertTrue(!e.getValue().contains(""), "package " + e.getKey() + " depends on the root package");
            }
        }
        assertEquals(List.of(), PackageGraph.cycle(uses), "a cycle among " + uses);
    }
}
