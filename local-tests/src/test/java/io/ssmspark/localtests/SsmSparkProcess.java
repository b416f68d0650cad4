package io.ssmspark.localtests;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * {@code bin/ssm-spark} run as a user runs it (its Java flags, its log4j2 configuration, local mode), in a process
 * of its own. The job jar is stood in for by a jar whose
 * manifest names this JVM's classpath, so no {@code mvn package} is needed first. Its stdout and stderr go to files
 * (which outlive {@link Process#destroy()}, unlike the process's pipes).
 */
final class SsmSparkProcess implements AutoCloseable {
    private static final Path LAUNCHER =
            Path.of("..", "bin", "ssm-spark").toAbsolutePath().normalize();

    private static final AtomicInteger RUNS = new AtomicInteger();

    private final Process process;
    private final Path out;
    private final Path err;

    /** What a finished run printed. */
    record Output(int code, List<String> out, List<String> err) {
        String errText() {
            return String.join("\n", err);
        }
    }

    private SsmSparkProcess(Process process, Path out, Path err) {
        this.process = process;
        this.out = out;
        this.err = err;
    }

    /**
     * Starts {@code bin/ssm-spark ARGS} in {@code dir} with a 1 GiB heap, plus {@code env} (e.g. SSM_SPARK_JAVA_OPTS
     * to override that).
     */
    static SsmSparkProcess start(Path dir, Map<String, String> env, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("bash", LAUNCHER.toString()));
        command.addAll(List.of(args));
        int run = RUNS.incrementAndGet();
        Path out = dir.resolve("ssm-spark-" + run + ".out");
        Path err = dir.resolve("ssm-spark-" + run + ".err");
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        Map<String, String> environment = builder.environment();
        environment.keySet().removeIf(k -> k.startsWith("SPARK_") || k.startsWith("SSM_SPARK_"));
        environment.put("SSM_SPARK_JAR", classpathJar(dir).toString());
        environment.put("SSM_SPARK_JAVA_OPTS", "-Xmx1g");
        environment.put("JAVA_HOME", System.getProperty("java.home"));
        environment.putAll(env);
        return new SsmSparkProcess(builder.start(), out, err);
    }

    /** Runs {@code bin/ssm-spark ARGS} to its end (at most {@code timeoutSeconds}). */
    static Output run(Path dir, Map<String, String> env, long timeoutSeconds, String... args)
            throws IOException, InterruptedException {
        try (SsmSparkProcess p = start(dir, env, args)) {
            return p.waitFor(timeoutSeconds);
        }
    }

    /** Waits until a stderr line matches, and returns it; fails if the process ends first or the time runs out. */
    String awaitErrLine(Predicate<String> wanted, long timeoutSeconds) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (System.nanoTime() < deadline) {
            for (String line : lines(err)) {
                if (wanted.test(line)) {
                    return line;
                }
            }
            if (!process.isAlive()) {
                throw new AssertionError("bin/ssm-spark ended (" + process.exitValue() + ") before the awaited line:\n"
                        + String.join("\n", lines(err)));
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no awaited line within " + timeoutSeconds + " s:\n" + String.join("\n", lines(err)));
    }

    /** Sends SIGTERM, as {@code kill PID} does. */
    void terminate() {
        process.destroy();
    }

    /** Sends SIGKILL, as {@code kill -9 PID} does: the JVM stops at once, running no shutdown hook. */
    void kill() {
        process.destroyForcibly();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    Output waitFor(long timeoutSeconds) throws IOException, InterruptedException {
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(
                    "bin/ssm-spark still ran after " + timeoutSeconds + " s:\n" + String.join("\n", lines(err)));
        }
        return new Output(process.exitValue(), lines(out), lines(err));
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
        }
    }

    private static List<String> lines(Path file) throws IOException {
        return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
    }

    /** An empty jar whose manifest Class-Path lists this JVM's classpath (absolute file URIs). */
    private static Path classpathJar(Path dir) throws IOException {
        Path jar = dir.resolve("classpath.jar");
        if (Files.exists(jar)) {
            return jar;
        }
        List<String> entries = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            if (!entry.isEmpty()) {
                entries.add(Path.of(entry).toAbsolutePath().toUri().toString());
            }
        }
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(Attributes.Name.CLASS_PATH, String.join(" ", entries));
        try (OutputStream file = Files.newOutputStream(jar);
                JarOutputStream j = new JarOutputStream(file, manifest)) {
            j.flush();
        }
        return jar;
    }
}
