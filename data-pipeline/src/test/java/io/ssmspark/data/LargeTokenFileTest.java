package io.ssmspark.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A 100 MiB token file (52,428,800 uint16 tokens) becomes windows and segments in Spark local mode
 * inside a JVM capped at {@value #HEAP} (Spark's reserved memory lowered to 32 MiB so it starts in so
 * small a heap): one int[] of the whole sequence alone would be 200 MiB, so nothing may hold it. Every window and segment is
 * checked token by token against the generating formula.
 */
class LargeTokenFileTest {
    static final String HEAP = "256m";

    @Test
    void hundredMegabyteTokenFileInBoundedMemory() throws IOException, InterruptedException {
        Path work = Path.of("target", "large-token-file");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx" + HEAP);
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--add-opens") || arg.startsWith("-Djdk.reflect")) {
                cmd.add(arg);
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(LargeTokenFileCheck.class.getName());
        cmd.add(work.toString());
        Path log = Files.createDirectories(Path.of("target")).resolve("large-token-file.log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        Process p = pb.start();
        boolean done = p.waitFor(180, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        try {
            assertTrue(done, "timed out; log:\n" + tail(output));
            assertEquals(0, p.exitValue(), "child JVM failed; log:\n" + tail(output));
            Matcher m = Pattern.compile("RESULT (\\{.*})").matcher(output);
            assertTrue(m.find(), "no result line; log:\n" + tail(output));
            String json = m.group(1);
            System.out.println("large token file, -Xmx" + HEAP + ": " + json);
            long tokens = 50L << 20;
            assertEquals(100L << 20, field(json, "file_bytes"));
            assertEquals(tokens, field(json, "tokens"));
            long expectedWindows = (tokens - 4096) / 4095 + 1;
            assertEquals(expectedWindows, field(json, "expected_windows"));
            assertEquals(expectedWindows, field(json, "windows"));
            assertEquals(0, field(json, "window_token_errors"));
            long expectedSegments = (tokens + 1_000_002) / 1_000_003;
            assertEquals(expectedSegments, field(json, "expected_segments"));
            assertEquals(expectedSegments, field(json, "segments"));
            assertEquals(0, field(json, "segment_errors"));
            assertEquals(tokens, field(json, "segment_tokens"));
            assertTrue(field(json, "gcs") > 0);
        } finally {
            deleteRecursively(work);
        }
    }

    private static long field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\": (-?[0-9.]+)").matcher(json);
        assertTrue(m.find(), name + " in " + json);
        return (long) Double.parseDouble(m.group(1));
    }

    private static String tail(String s) {
        return s.length() > 6000 ? s.substring(s.length() - 6000) : s;
    }

    private static void deleteRecursively(Path p) throws IOException {
        if (Files.exists(p)) {
            try (var walk = Files.walk(p)) {
                walk.sorted(java.util.Comparator.reverseOrder())
                        .forEach(q -> q.toFile().delete());
            }
        }
    }
}
