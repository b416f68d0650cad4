package io.ssmspark.localtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.jobs.Main;
import io.ssmspark.model.checkpoint.Checkpoint;
import io.ssmspark.model.checkpoint.LoadedCheckpoint;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@code train} and {@code score} submitted through Spark's real submission path,
 * {@code org.apache.spark.deploy.SparkSubmit} (what {@code $SPARK_HOME/bin/spark-submit} runs), in its own JVM,
 * in client deploy mode, against a loopback standalone cluster, with the project's
 * {@code cluster-conf/spark-defaults.standalone.conf} as the properties file (its master and sizes adapted to the
 * loopback cluster; Kryo, the module openings and the shipped logging configuration as they are): the trained
 * model and the scores equal the same commands' in local mode.
 */
class SparkSubmitTest {
    private static final int EXECUTORS = 2;
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    @TempDir
    static Path dir;

    private static LoopbackStandaloneCluster cluster;

    @BeforeAll
    static void startCluster() throws Exception {
        cluster = LoopbackStandaloneCluster.start(EXECUTORS, dir.resolve("cluster"));
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void trainAndScoreSubmittedToAStandaloneClusterEqualLocalMode() throws Exception {
        Path modelConfig = dir.resolve("model-config.json");
        Files.writeString(modelConfig, StandaloneClusterTest.tinyModel().toJson());
        Path conf = adaptedTemplate();
        Path primary = emptyJar();

        List<String> train = List.of(
                "train",
                "--model-config",
                modelConfig.toString(),
                "--data",
                "synthetic:associative-recall?documents=120",
                "--seq-len",
                "32",
                "--global-batch",
                "4",
                "--steps",
                "3",
                "--lr",
                "1e-2",
                "--warmup",
                "1",
                "--seed",
                "7",
                "--dtype",
                "float64",
                "--partitions",
                "4",
                "--validation-fraction",
                "0.1",
                "--eval-windows",
                "4");
        submit(conf, primary, with(train, "--out", dir.resolve("submitted-run").toString()));
        for (int w = 0; w < EXECUTORS; w++) {
            try (Stream<Path> apps = Files.list(dir.resolve("cluster").resolve("worker-" + w))) {
                assertTrue(
                        apps.anyMatch(a -> a.getFileName().toString().startsWith("app-")),
                        "worker " + w + " ran an executor of the submitted application");
            }
        }
        assertEquals(
                0,
                Main.run(with(train, "--out", dir.resolve("local-run").toString(), "--master", "local[2]")
                        .toArray(String[]::new)));
        LoadedCheckpoint submitted =
                Checkpoint.load(dir.resolve("submitted-run").resolve("final"), DataType.DOUBLE);
        LoadedCheckpoint local = Checkpoint.load(dir.resolve("local-run").resolve("final"), DataType.DOUBLE);
        assertEquals(local.tensors().keySet(), submitted.tensors().keySet());
        for (Map.Entry<String, INDArray> e : local.tensors().entrySet()) {
            assertTrue(e.getValue().equalsWithEps(submitted.tensor(e.getKey()), 1e-12), e.getKey());
        }

        Path tokens = dir.resolve("tokens.i32");
        writeTokens(tokens, new Random(3).ints(157, 0, 129).toArray());
        List<String> score = List.of(
                "score",
                "--model",
                dir.resolve("local-run").resolve("final").toString(),
                "--input",
                tokens.toString(),
                "--input-format",
                "tokens-i32",
                "--segment-length",
                "40",
                "--dtype",
                "float64",
                "--format",
                "csv",
                "--partitions",
                "2",
                "--parallel-segments",
                "2");
        submit(
                conf,
                primary,
                with(score, "--output", dir.resolve("submitted-scores").toString()));
        assertEquals(
                0,
                Main.run(with(score, "--output", dir.resolve("local-scores").toString(), "--master", "local[2]")
                        .toArray(String[]::new)));
        List<String> expected = csvRows(dir.resolve("local-scores").resolve("tokens"));
        assertEquals(156, expected.size() - 1, "one row per predicted position, and a header");
        assertEquals(expected, csvRows(dir.resolve("submitted-scores").resolve("tokens")));
        assertEquals(
                csvRows(dir.resolve("local-scores").resolve("summary")),
                csvRows(dir.resolve("submitted-scores").resolve("summary")));
    }

    /**
     * The launcher's own hand-off: {@code bin/ssm-spark score --master spark://... --properties-file ...} with
     * SPARK_HOME set runs $SPARK_HOME/bin/spark-submit with the job's class, master and properties file (whose Java
     * options it leaves alone), the job's arguments after the jar, and the scores equal local mode's. The SPARK_HOME is laid out from the build:
     * the Spark jars of this test's classpath linked under jars/, and a bin/spark-submit that runs
     * org.apache.spark.deploy.SparkSubmit over them, as Spark's own script does (the job's classes come from the
     * build's class directories: {@code mvn test} builds no shaded jar).
     */
    @Test
    void theLaunchersHandOffToSparkSubmitScoresOnTheCluster() throws Exception {
        Path model = dir.resolve("handoff-model");
        Path modelConfig = dir.resolve("handoff-model-config.json");
        Files.writeString(modelConfig, StandaloneClusterTest.tinyModel().toJson());
        assertEquals(0, Main.run(new String[] {
            "train",
            "--model-config",
            modelConfig.toString(),
            "--data",
            "synthetic:associative-recall?documents=120",
            "--seq-len",
            "32",
            "--global-batch",
            "2",
            "--steps",
            "1",
            "--dtype",
            "float64",
            "--partitions",
            "1",
            "--validation-fraction",
            "0.1",
            "--eval-windows",
            "2",
            "--master",
            "local[2]",
            "--out",
            model.toString()
        }));
        Path tokens = dir.resolve("handoff-tokens.i32");
        writeTokens(tokens, new Random(4).ints(97, 0, 129).toArray());
        List<String> score = List.of(
                "score",
                "--model",
                model.resolve("final").toString(),
                "--input",
                tokens.toString(),
                "--input-format",
                "tokens-i32",
                "--segment-length",
                "30",
                "--dtype",
                "float64",
                "--format",
                "csv",
                "--parallel-segments",
                "2");

        Path sparkHome = sparkHomeFromTheBuild();
        Path submitted = dir.resolve("handoff-submitted");
        List<String> command =
                new ArrayList<>(List.of(ROOT.resolve("bin/ssm-spark").toString()));
        command.addAll(with(
                score,
                "--output",
                submitted.toString(),
                "--master",
                cluster.masterUrl(),
                "--properties-file",
                adaptedTemplate().toString()));
        Path log = dir.resolve("handoff.log");
        ProcessBuilder b = new ProcessBuilder(command)
                .directory(ROOT.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        b.environment().keySet().removeIf(k -> k.startsWith("SPARK_") || k.startsWith("SSM_SPARK"));
        b.environment().put("SPARK_HOME", sparkHome.toString());
        b.environment().put("SSM_SPARK_JAR", emptyJar().toString());
        b.environment().put("SPARK_LOCAL_IP", LoopbackStandaloneCluster.HOST);
        Process p = b.start();
        boolean done = p.waitFor(5, TimeUnit.MINUTES);
        if (!done) {
            p.destroyForcibly();
        }
        assertTrue(
                done && p.exitValue() == 0,
                "bin/ssm-spark score via spark-submit failed:\n" + Files.readString(log) + "\n" + cluster.logTails());

        List<String> handedOver = Files.readAllLines(sparkHome.resolve("spark-submit-args.txt"));
        assertTrue(
                handedOver.contains("--class") && handedOver.contains("io.ssmspark.jobs.Main"), handedOver.toString());
        assertEquals(cluster.masterUrl(), handedOver.get(handedOver.indexOf("--master") + 1));
        assertTrue(handedOver.contains("--properties-file"), handedOver.toString());
        // The template sets both sides' extraJavaOptions (the Java 17 openings among them): the user's configuration
        // wins, so the launcher adds none of its own.
        String template = Files.readString(dir.resolve("spark-defaults.conf"));
        for (String side : new String[] {"driver", "executor"}) {
            assertTrue(
                    template.contains("spark." + side + ".extraJavaOptions")
                            && template.contains("--add-opens=java.base/java.nio=ALL-UNNAMED"),
                    side + " options in the template");
            assertTrue(
                    handedOver.stream().noneMatch(a -> a.startsWith("spark." + side + ".extraJavaOptions=")),
                    side + " options overridden: " + handedOver);
        }
        assertEquals(
                score.get(0),
                handedOver.get(handedOver.indexOf(emptyJarName()) + 1),
                "the job's arguments follow the jar");

        Path local = dir.resolve("handoff-local");
        assertEquals(
                0,
                Main.run(with(score, "--output", local.toString(), "--master", "local[2]")
                        .toArray(String[]::new)));
        assertEquals(96 + 1, csvRows(local.resolve("tokens")).size());
        assertEquals(csvRows(local.resolve("tokens")), csvRows(submitted.resolve("tokens")));
        assertEquals(csvRows(local.resolve("summary")), csvRows(submitted.resolve("summary")));
    }

    /**
     * A Spark home from this test's classpath: jars/ links every jar of it, and bin/spark-submit records its
     * arguments (one per line) and runs SparkSubmit over jars/* and the build's class directories.
     */
    private static Path sparkHomeFromTheBuild() throws IOException {
        Path home = dir.resolve("spark-home");
        Path jars = Files.createDirectories(home.resolve("jars"));
        List<String> classDirs = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path e = Path.of(entry);
            if (entry.endsWith(".jar") && Files.isRegularFile(e)) {
                Path link = jars.resolve(e.getFileName());
                if (!Files.exists(link)) {
                    Files.createSymbolicLink(link, e.toAbsolutePath());
                }
            } else if (Files.isDirectory(e)) {
                classDirs.add(e.toAbsolutePath().toString());
            }
        }
        Path bin = Files.createDirectories(home.resolve("bin"));
        Path submit = bin.resolve("spark-submit");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Files.writeString(
                submit,
                "#!/usr/bin/env bash\n"
                        + "printf '%s\\n' \"$@\" > \"" + home.resolve("spark-submit-args.txt") + "\"\n"
                        + "exec \"" + java + "\" -Xmx1g " + String.join(" ", LoopbackStandaloneCluster.java17Flags())
                        + " -cp \"" + jars + "/*:" + String.join(":", classDirs) + "\""
                        + " org.apache.spark.deploy.SparkSubmit \"$@\"\n");
        submit.toFile().setExecutable(true);
        return home;
    }

    /**
     * cluster-conf/spark-defaults.standalone.conf with the loopback master, executors that fit its Workers (1 core,
     * 1 GiB) on this JVM's classpath, and the driver bound to 127.0.0.1; every other line as the template has it.
     */
    private static Path adaptedTemplate() throws IOException {
        Map<String, String> fit = new java.util.LinkedHashMap<>(cluster.executorConf(EXECUTORS));
        fit.put("spark.master", cluster.masterUrl());
        fit.put("spark.task.cpus", "1");
        fit.put("spark.executor.memoryOverhead", "256m");
        fit.remove("spark.executor.extraJavaOptions"); // the template's: the module openings and its log4j2 file
        List<String> lines = new ArrayList<>();
        for (String line : Files.readAllLines(ROOT.resolve("cluster-conf/spark-defaults.standalone.conf"))) {
            String key = line.isBlank() || line.startsWith("#") ? null : line.split("\\s+", 2)[0];
            if (key == null || !fit.containsKey(key)) {
                lines.add(line);
            }
        }
        fit.forEach((k, v) -> lines.add(k + " " + v));
        Path conf = dir.resolve("spark-defaults.conf");
        Files.write(conf, lines);
        return conf;
    }

    private static String emptyJarName() {
        return dir.resolve("app.jar").toString();
    }

    /** The application jar SparkSubmit requires; the job's classes come from the classpath, as on the executors. */
    private static Path emptyJar() throws IOException {
        Path jar = dir.resolve("app.jar");
        Manifest m = new Manifest();
        m.getMainAttributes().putValue("Manifest-Version", "1.0");
        try (OutputStream out = Files.newOutputStream(jar);
                JarOutputStream j = new JarOutputStream(out, m)) {
            j.flush();
        }
        return jar;
    }

    /** Runs SparkSubmit in a new JVM from the project root, as spark-submit would, and requires exit code 0. */
    private static void submit(Path conf, Path primary, List<String> jobArgs) throws Exception {
        List<String> command = new ArrayList<>(
                List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g"));
        command.addAll(LoopbackStandaloneCluster.java17Flags());
        command.addAll(List.of(
                "-cp",
                System.getProperty("java.class.path"),
                "org.apache.spark.deploy.SparkSubmit",
                "--master",
                cluster.masterUrl(),
                "--deploy-mode",
                "client",
                "--properties-file",
                conf.toString(),
                "--class",
                "io.ssmspark.jobs.Main",
                primary.toString()));
        command.addAll(jobArgs);
        Path log = dir.resolve("submit-" + jobArgs.get(0) + ".log");
        ProcessBuilder b = new ProcessBuilder(command)
                .directory(ROOT.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        b.environment().keySet().removeIf(k -> k.startsWith("SPARK_"));
        b.environment().put("SPARK_LOCAL_IP", LoopbackStandaloneCluster.HOST);
        Process p = b.start();
        boolean done = p.waitFor(5, TimeUnit.MINUTES);
        if (!done) {
            p.destroyForcibly();
        }
        String output = Files.readString(log);
        assertTrue(
                done && p.exitValue() == 0,
                "spark-submit " + jobArgs.get(0) + " failed:\n" + output + "\n" + cluster.logTails());
    }

    private static List<String> with(List<String> args, String... more) {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of(more));
        return all;
    }

    private static void writeTokens(Path file, int[] ids) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4 * ids.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int id : ids) {
            b.putInt(id);
        }
        Files.write(file, b.array());
    }

    /** The CSV part files' lines, header first then the rows sorted (part order is Spark's). */
    private static List<String> csvRows(Path output) throws IOException {
        List<String> rows = new ArrayList<>();
        String header = null;
        try (Stream<Path> files = Files.walk(output)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".csv"))
                    .sorted()
                    .toList()) {
                List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
                if (!lines.isEmpty()) {
                    header = lines.get(0);
                    rows.addAll(lines.subList(1, lines.size()));
                }
            }
        }
        rows.sort(null);
        List<String> all = new ArrayList<>();
        if (header != null) {
            all.add(header);
        }
        all.addAll(rows);
        return all;
    }
}
