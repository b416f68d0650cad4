package io.ssmspark.model.testing;

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

/**
 * Which packages of a module's sources use which: read from the sources' references to the module's classes
 * (imports and qualified names, outside comments and string literals). For the tests that hold a module's package
 * graph free of cycles.
 */
public final class PackageGraph {
    private PackageGraph() {}

    /**
     * The graph of {@code sources} (the directory of package {@code root}): for each subpackage path relative to
     * root ("" for root itself, "a.b" for root.a.b), the others it refers to.
     */
    public static Map<String, Set<String>> read(Path sources, String root) throws IOException {
        Pattern reference = Pattern.compile(Pattern.quote(root) + "\\.((?:[a-z][a-z0-9]*\\.)*)[A-Z]");
        Map<String, Set<String>> uses = new TreeMap<>();
        try (Stream<Path> files = Files.walk(sources)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                Path dir = sources.relativize(f.getParent());
                String from = dir.toString().replace('/', '.');
                uses.computeIfAbsent(from, k -> new TreeSet<>());
                String code = Files.readString(f)
                        .replaceAll("(?s)/\\*.*?\\*/", "")
                        .replaceAll("//[^\\n]*", "")
                        .replaceAll("\"(\\\\.|[^\"\\\\])*\"", "\"\"");
                Matcher m = reference.matcher(code);
                while (m.find()) {
                    String to = m.group(1).isEmpty()
                            ? ""
                            : m.group(1).substring(0, m.group(1).length() - 1);
                    if (!to.equals(from)) {
                        uses.get(from).add(to);
                    }
                }
            }
        }
        return uses;
    }

    /** A cycle of the graph as the packages along it, first repeated at the end; empty when there is none. */
    public static List<String> cycle(Map<String, Set<String>> uses) {
        for (String start : uses.keySet()) {
            List<String> cycle = new ArrayList<>();
            if (cycleFrom(start, start, uses, new ArrayList<>(), cycle)) {
                return cycle;
            }
        }
        return List.of();
    }

    private static boolean cycleFrom(
            String start, String at, Map<String, Set<String>> uses, List<String> path, List<String> cycle) {
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
