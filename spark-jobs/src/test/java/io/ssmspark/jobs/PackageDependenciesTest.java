package io.ssmspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The packages of spark-jobs depend on each other without cycles, and none depends on the composition root
 * (io.ssmspark.jobs: Main and the Kryo registrator, which name classes of every package). Read from the sources'
 * references to io.ssmspark.jobs classes (imports and qualified names, outside comments).
 */
class PackageDependenciesTest {
  private static final Path SOURCES = Path.of("src/main/java/io/ssmspark/jobs");
  private static final Pattern REFERENCE = Pattern.compile("io\\.ssmspark\\.jobs\\.(?:([a-z]+)\\.)?[A-Z]");

  @Test
  void packagesFormNoCycleAndOnlyTheRootDependsOnTheRoot() throws IOException {
    Map<String, Set<String>> uses = new TreeMap<>();
    try (Stream<Path> files = Files.walk(SOURCES)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        Path dir = SOURCES.relativize(f.getParent());
        String from = dir.toString().isEmpty() ? "" : dir.toString().replace('/', '.');
        String code = Files.readString(f).replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\\n]*", "")
            .replaceAll("\"(\\\\.|[^\"\\\\])*\"", "\"\"");
        Matcher m = REFERENCE.matcher(code);
        while (m.find()) {
          String to = m.group(1) == null ? "" : m.group(1);
          if (!to.equals(from)) {
            uses.computeIfAbsent(from, k -> new TreeSet<>()).add(to);
          }
        }
      }
    }
    assertTrue(uses.containsKey(""), "the root package was read: " + uses);
    for (Map.Entry<String, Set<String>> e : uses.entrySet()) {
      if (!e.getKey().isEmpty()) {
        assertTrue(!e.getValue().contains(""), "package " + e.getKey() + " depends on the root package");
      }
    }
    List<String> cycle = new ArrayList<>();
    for (String start : uses.keySet()) {
      if (cycleFrom(start, start, uses, new ArrayList<>(), cycle)) {
        break;
      }
    }
    assertEquals(List.of(), cycle, "a cycle among " + uses);
  }

  private static boolean cycleFrom(String start, String at, Map<String, Set<String>> uses, List<String> path,
      List<String> cycle) {
    path.add(at);
    for (String next : uses.getOrDefault(at, Set.of())) {
      if (next.equals(start)) {
        cycle.addAll(path);
        cycle.add(start);
        return true;
      }
      if (!path.contains(next) && cycleFrom(start, next, uses, path, cycle)) {
        return true;
      }
    }
    path.remove(path.size() - 1);
    return false;
  }
}
