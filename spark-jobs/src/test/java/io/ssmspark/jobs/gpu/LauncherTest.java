package io.ssmspark.jobs.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/ssm-spark's choice between local mode and spark-submit, and how it splits the arguments, run
 * against a fake SPARK_HOME (bin/spark-submit prints its arguments) and a fake JAVA_HOME (bin/java
 * prints its arguments).
 */
class LauncherTest {

    private static final Path LAUNCHER =
            Path.of("..", "bin", "ssm-spark").toAbsolutePath().normalize();
    private static final String MAIN = "io.ssmspark.jobs.Main";

    @TempDir
    Path dir;

    private Path sparkHome;
    private Path javaHome;
    private Path jar;

    private record Result(int exitCode, List<String> lines, String stderr) {
        /** The arguments the fake program printed after its own name. */
        List<String> argsOf(String program) {
            assertTrue(
                    !lines.isEmpty() && lines.get(0).equals(program),
                    "expected " + program + " to run, got " + lines + " / " + stderr);
            return lines.subList(1, lines.size());
        }
    }

    private static Path fakeProgram(Path home, String name) throws IOException {
        Path bin = Files.createDirectories(home.resolve("bin"));
        Path program = bin.resolve(name);
        Files.writeString(program, "#!/bin/sh\necho " + name + "\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n");
        Files.setPosixFilePermissions(program, PosixFilePermissions.fromString("rwx------"));
        return program;
    }

    @BeforeEach
    void fakes() throws IOException {
        sparkHome = dir.resolve("spark");
        javaHome = dir.resolve("jdk");
        fakeProgram(sparkHome, "spark-submit");
        fakeProgram(javaHome, "java");
        jar = Files.writeString(dir.resolve("ssm-spark-jobs.jar"), "not really a jar");
    }

    private Result launch(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", LAUNCHER.toString()));
        command.addAll(Arrays.asList(args));
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile());
        Map<String, String> environment = builder.environment();
        environment.remove("SPARK_HOME");
        environment.remove("SSM_SPARK_SUBMIT");
        environment.remove("SSM_SPARK_DRY_RUN");
        environment.remove("SSM_SPARK_OPENBLAS_CHOICE");
        environment.put("JAVA_HOME", javaHome.toString());
        environment.put("SSM_SPARK_JAR", jar.toString());
        environment.putAll(env);
        Process process = builder.start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        List<String> lines = out.isEmpty() ? List.of() : List.of(out.split("\n"));
        return new Result(process.waitFor(), lines, err.strip());
    }

    private Map<String, String> withSparkHome() {
        return new HashMap<>(Map.of("SPARK_HOME", sparkHome.toString()));
    }

    /** The flags line spark.{driver,executor}.extraJavaOptions=... the launcher adds. */
    private static boolean isJava17Conf(String arg, String side) {
        return arg.startsWith("spark." + side + ".extraJavaOptions=--add-opens=java.base/java.lang=ALL-UNNAMED ")
                && arg.endsWith(" -Djdk.reflect.useDirectMethodHandle=false")
                && arg.split("--add-opens=").length == 15;
    }

    @Test
    void localMasterRunsInThisJvmAndPassesMasterToTheJob() throws Exception {
        Result result = launch(withSparkHome(), "train", "--master", "local[2]", "--steps", "3");
        assertEquals(0, result.exitCode(), result.stderr());
        List<String> args = result.argsOf("java");
        int main = args.indexOf(MAIN);
        assertEquals(List.of(MAIN, "train", "--master", "local[2]", "--steps", "3"), args.subList(main, args.size()));
        assertTrue(args.contains("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED"), args.toString());
        assertEquals(jar.toString(), args.get(args.indexOf("-cp") + 1).split(":")[0]);
    }

    @Test
    void localModeTurnsConfIntoSystemProperties() throws Exception {
        Result result = launch(
                Map.of(), "score", "--conf", "spark.task.cpus=2", "--conf=spark.executor.memory=4g", "--model", "m");
        assertEquals(0, result.exitCode(), result.stderr());
        List<String> args = result.argsOf("java");
        int main = args.indexOf(MAIN);
        assertEquals(List.of(MAIN, "score", "--model", "m"), args.subList(main, args.size()));
        assertEquals(
                List.of("-Dspark.task.cpus=2", "-Dspark.executor.memory=4g", "-Dspark.storage.memoryMapThreshold=2g"),
                args.stream().filter(a -> a.startsWith("-Dspark.")).toList());
    }

    /** Local mode reads disk blocks into buffers rather than mapping them, unless the user's options say otherwise. */
    @Test
    void localModeRaisesSparksMemoryMapThresholdUnlessGiven() throws Exception {
        assertEquals(
                List.of("-Dspark.storage.memoryMapThreshold=2g"),
                launch(Map.of(), "score").argsOf("java").stream()
                        .filter(a -> a.contains("memoryMapThreshold"))
                        .toList());
        assertEquals(
                List.of("-Dspark.storage.memoryMapThreshold=8m"),
                launch(Map.of(), "score", "--conf", "spark.storage.memoryMapThreshold=8m").argsOf("java").stream()
                        .filter(a -> a.contains("memoryMapThreshold"))
                        .toList());
        assertEquals(
                List.of("-Dspark.storage.memoryMapThreshold=4m"),
                launch(Map.of("SSM_SPARK_JAVA_OPTS", "-Xmx3g -Dspark.storage.memoryMapThreshold=4m"), "score")
                        .argsOf("java")
                        .stream()
                        .filter(a -> a.contains("memoryMapThreshold"))
                        .toList());
    }

    /** Local mode guards the process's resident memory at 80% of physical memory unless the user's options do. */
    @Test
    void localModeSetsJavaCppsPhysicalMemoryGuardUnlessGiven() throws Exception {
        long memTotalKb = Files.readAllLines(Path.of("/proc/meminfo")).stream()
                .filter(l -> l.startsWith("MemTotal:"))
                .mapToLong(l -> Long.parseLong(l.replaceAll("[^0-9]", "")))
                .findFirst()
                .orElseThrow();
        List<String> args = launch(Map.of(), "score", "--model", "m").argsOf("java");
        assertEquals(
                List.of("-Dorg.bytedeco.javacpp.maxPhysicalBytes=" + memTotalKb * 1024 / 10 * 8),
                args.stream().filter(a -> a.contains("maxPhysicalBytes")).toList());
        assertTrue(args.contains("-Xmx8g"), args.toString());

        args = launch(Map.of("SSM_SPARK_JAVA_OPTS", "-Xmx3g -Dorg.bytedeco.javacpp.maxPhysicalBytes=5g"), "score")
                .argsOf("java");
        assertEquals(
                List.of("-Dorg.bytedeco.javacpp.maxPhysicalBytes=5g"),
                args.stream().filter(a -> a.contains("maxPhysicalBytes")).toList());
        assertEquals(
                List.of("-Xmx3g"),
                args.stream().filter(a -> a.startsWith("-Xmx")).toList());
    }

    @Test
    void clusterMasterGoesThroughSparkSubmitWithTheJava17Flags() throws Exception {
        Result result = launch(
                withSparkHome(),
                "train",
                "--master",
                "yarn",
                "--deploy-mode",
                "cluster",
                "--conf",
                "spark.executor.instances=4",
                "--steps",
                "10",
                "--out",
                "hdfs:///runs/a b");
        assertEquals(0, result.exitCode(), result.stderr());
        List<String> args = result.argsOf("spark-submit");
        assertEquals(
                List.of(
                        "--class",
                        MAIN,
                        "--master",
                        "yarn",
                        "--deploy-mode",
                        "cluster",
                        "--conf",
                        "spark.executor.instances=4",
                        "--conf"),
                args.subList(0, 9));
        assertTrue(isJava17Conf(args.get(9), "driver"), args.get(9));
        assertEquals("--conf", args.get(10));
        assertTrue(isJava17Conf(args.get(11), "executor"), args.get(11));
        assertEquals(
                List.of(jar.toString(), "train", "--master", "yarn", "--steps", "10", "--out", "hdfs:///runs/a b"),
                args.subList(12, args.size()));
    }

    @Test
    void propertiesFileAloneChoosesSparkSubmitAndItsJavaOptionsAreKept() throws Exception {
        Path template = ClusterConfTemplatesTest.CLUSTER_CONF
                .resolve("spark-defaults.standalone.conf")
                .toAbsolutePath()
                .normalize();
        Result result = launch(withSparkHome(), "--properties-file=" + template, "score", "--model", "m");
        assertEquals(0, result.exitCode(), result.stderr());
        // The template sets both extraJavaOptions: the launcher adds no --conf that would override them.
        assertEquals(
                List.of(
                        "--class",
                        MAIN,
                        "--properties-file",
                        template.toString(),
                        jar.toString(),
                        "score",
                        "--model",
                        "m"),
                result.argsOf("spark-submit"));
    }

    @Test
    void userJavaOptionsAreNotOverridden() throws Exception {
        Result result = launch(
                withSparkHome(),
                "demo",
                "--master",
                "spark://h:7077",
                "--conf",
                "spark.executor.extraJavaOptions=-Dx=1");
        List<String> args = result.argsOf("spark-submit");
        assertEquals(
                List.of(
                        "--class",
                        MAIN,
                        "--master",
                        "spark://h:7077",
                        "--conf",
                        "spark.executor.extraJavaOptions=-Dx=1",
                        "--conf"),
                args.subList(0, 7));
        assertTrue(isJava17Conf(args.get(7), "driver"), args.get(7));
        assertEquals(List.of(jar.toString(), "demo", "--master", "spark://h:7077"), args.subList(8, args.size()));
    }

    @Test
    void submitCanBeForcedForALocalMaster() throws Exception {
        Map<String, String> env = withSparkHome();
        env.put("SSM_SPARK_SUBMIT", "1");
        List<String> args = launch(env, "nll", "--master", "local[4]").argsOf("spark-submit");
        assertEquals(List.of("--class", MAIN, "--master", "local[4]"), args.subList(0, 4));
        assertEquals(List.of(jar.toString(), "nll", "--master", "local[4]"), args.subList(8, args.size()));
    }

    @Test
    void clusterMasterWithoutSparkHomeIsAClearError() throws Exception {
        Result result = launch(Map.of(), "train", "--master", "k8s://https://api:6443");
        assertEquals(2, result.exitCode());
        assertEquals(List.of(), result.lines());
        assertEquals(
                "ssm-spark: --master k8s://https://api:6443 needs spark-submit, but SPARK_HOME is not set.\n"
                        + "Set SPARK_HOME to a Spark 3.5.7 installation (built for Scala 2.12), or use --master local[k].",
                result.stderr());
        Result deployMode = launch(Map.of(), "train", "--deploy-mode", "client");
        assertEquals(2, deployMode.exitCode());
        assertTrue(
                deployMode
                        .stderr()
                        .startsWith(
                                "ssm-spark: --deploy-mode client needs spark-submit, but SPARK_HOME" + " is not set."),
                deployMode.stderr());
    }

    @Test
    void badLauncherArgumentsAreClearErrors() throws Exception {
        Result noValue = launch(withSparkHome(), "train", "--master");
        assertEquals(2, noValue.exitCode());
        assertEquals("ssm-spark: --master needs a value", noValue.stderr());
        Result badConf = launch(withSparkHome(), "train", "--conf", "spark.task.cpus");
        assertEquals(2, badConf.exitCode());
        assertEquals("ssm-spark: --conf expects key=value, found 'spark.task.cpus'", badConf.stderr());
        Result noFile = launch(withSparkHome(), "train", "--properties-file", "absent.conf");
        assertEquals(2, noFile.exitCode());
        assertEquals("ssm-spark: --properties-file absent.conf does not exist", noFile.stderr());
        Map<String, String> emptyHome =
                Map.of("SPARK_HOME", dir.resolve("nowhere").toString());
        Result noSubmit = launch(emptyHome, "train", "--master", "yarn");
        assertEquals(2, noSubmit.exitCode());
        assertEquals(
                "ssm-spark: SPARK_HOME=" + dir.resolve("nowhere") + " has no executable bin/spark-submit",
                noSubmit.stderr());
    }

    /** A /proc/cpuinfo with one processor's vendor, family and flags. */
    private Path cpuinfo(String vendor, int family, String flags) throws IOException {
        return Files.writeString(
                dir.resolve("cpuinfo-" + vendor + family + flags.hashCode()),
                "processor\t: 0\nvendor_id\t: " + vendor + "\ncpu family\t: " + family + "\nflags\t\t: " + flags
                        + "\n\nprocessor\t: 1\n");
    }

    /** The OPENBLAS_CORETYPE (and who chose it) the launcher hands to java for this environment. */
    private String coretypeSeen(Map<String, String> env) throws Exception {
        Path program = javaHome.resolve("bin").resolve("java");
        Files.writeString(
                program, "#!/bin/sh\necho \"${OPENBLAS_CORETYPE-unset}/${SSM_SPARK_OPENBLAS_CHOICE-none}\"\n");
        Map<String, String> all = new HashMap<>(env);
        all.putIfAbsent("OPENBLAS_CORETYPE", "");
        Result result = launch(all, "bench", "ssd");
        assertEquals(0, result.exitCode(), result.stderr());
        return result.lines().get(0);
    }

    /** Kernels by CPU flags: AVX-512 gets SkylakeX, an AMD family newer than 0.3.19 knows gets Zen, others none. */
    @Test
    void launcherChoosesOpenBlasKernelsFromTheCpuFlagsUnlessTheUserDid() throws Exception {
        String avx2 = "fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2";
        String avx512 = avx2 + " avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16";
        assertEquals(
                "SkylakeX/launcher",
                coretypeSeen(Map.of(
                        "SSM_SPARK_CPUINFO", cpuinfo("AuthenticAMD", 26, avx512).toString())));
        assertEquals(
                "SkylakeX/launcher",
                coretypeSeen(Map.of(
                        "SSM_SPARK_CPUINFO", cpuinfo("GenuineIntel", 6, avx512).toString())));
        assertEquals(
                "Zen/launcher",
                coretypeSeen(Map.of(
                        "SSM_SPARK_CPUINFO", cpuinfo("AuthenticAMD", 26, avx2).toString())));
        // a Zen 3 (family 25) without AVX-512 is known to OpenBLAS 0.3.19: leave its detection alone
        assertEquals(
                "/none",
                coretypeSeen(Map.of(
                        "SSM_SPARK_CPUINFO", cpuinfo("AuthenticAMD", 25, avx2).toString())));
        // AVX-512 F without BW/VL (Knights Landing) must not get SkylakeX kernels
        assertEquals(
                "/none",
                coretypeSeen(Map.of(
                        "SSM_SPARK_CPUINFO",
                        cpuinfo("GenuineIntel", 6, avx2 + " avx512f avx512cd").toString())));
        assertEquals(
                "Haswell/none",
                coretypeSeen(Map.of(
                        "OPENBLAS_CORETYPE",
                        "Haswell",
                        "SSM_SPARK_CPUINFO",
                        cpuinfo("AuthenticAMD", 26, avx512).toString())));
    }
}
