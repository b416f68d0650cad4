package io.ssmspark.jobs.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/** Every spark-defaults template in cluster-conf/ parses, and names only real Spark settings. */
class ClusterConfTemplatesTest {

    static final Path CLUSTER_CONF = Path.of("..", "cluster-conf");

    private static final List<String> EXPECTED_TEMPLATES = List.of(
            "spark-defaults.k8s-gpu.conf",
            "spark-defaults.k8s.conf",
            "spark-defaults.local.conf",
            "spark-defaults.standalone-gpu.conf",
            "spark-defaults.standalone.conf",
            "spark-defaults.yarn-gpu.conf",
            "spark-defaults.yarn.conf");

    static List<Path> templates() throws IOException {
        try (Stream<Path> files = Files.list(CLUSTER_CONF)) {
            return files.filter(p -> p.getFileName().toString().matches("spark-defaults\\..*\\.conf"))
                    .sorted()
                    .toList();
        }
    }

    /** Parses as Spark does (java.util.Properties, values trimmed), refusing a key given twice. */
    static Properties parse(String text, String name) throws IOException {
        Set<String> seen = new HashSet<>();
        for (String line : text.split("\n")) {
            Properties one = new Properties();
            one.load(new StringReader(line));
            for (String key : one.stringPropertyNames()) {
                if (!seen.add(key)) {
                    throw new IllegalArgumentException(name + ": key " + key + " is set twice");
                }
            }
        }
        Properties properties = new Properties();
        properties.load(new StringReader(text));
        return properties;
    }

    /** The template's unknown keys, each with the reason. */
    static List<String> unknownKeys(Properties properties) {
        List<String> unknown = new ArrayList<>();
        for (String key : properties.stringPropertyNames()) {
            String why = SparkSettingKeys.whyUnknown(key);
            if (why != null) {
                unknown.add(why);
            }
        }
        return unknown;
    }

    @Test
    void allSevenTemplatesArePresent() throws IOException {
        assertEquals(
                EXPECTED_TEMPLATES,
                templates().stream().map(p -> p.getFileName().toString()).toList());
    }

    @Test
    void everyKeyOfEveryTemplateIsARealSparkSetting() throws IOException {
        for (Path template : templates()) {
            Properties properties = parse(Files.readString(template), template.toString());
            assertTrue(properties.size() >= 10, template + " has only " + properties.size() + " settings");
            assertEquals(List.of(), unknownKeys(properties), template.toString());
        }
    }

    @Test
    void everyTemplateUsesKryoWithOurRegistratorAndTheJava17Flags() throws IOException {
        for (Path template : templates()) {
            Properties p = parse(Files.readString(template), template.toString());
            assertEquals(
                    "org.apache.spark.serializer.KryoSerializer",
                    p.getProperty("spark.serializer"),
                    template.toString());
            assertEquals(
                    "io.ssmspark.jobs.SsmKryoRegistrator",
                    p.getProperty("spark.kryo.registrator"),
                    template.toString());
            for (String side : List.of("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions")) {
                String options = p.getProperty(side);
                assertTrue(
                        options.contains("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED")
                                && options.contains("-Djdk.reflect.useDirectMethodHandle=false")
                                && options.split(" --add-opens=").length == 14,
                        template + " " + side + ": " + options);
            }
            // Spark itself accepts the file: the values load into a SparkConf and the serializer is set.
            SparkConf conf = new SparkConf(false);
            p.stringPropertyNames().forEach(key -> conf.set(key, p.getProperty(key)));
            assertEquals(p.size(), conf.getAll().length);
        }
    }

    @Test
    void threadsMatchTaskCoresInEveryClusterTemplate() throws IOException {
        // ND4J threads per task = executor cores / concurrent tasks = spark.task.cpus.
        for (Path template : templates()) {
            Properties p = parse(Files.readString(template), template.toString());
            if (p.getProperty("spark.master").startsWith("local")) {
                continue;
            }
            int executorCores = Integer.parseInt(p.getProperty("spark.executor.cores"));
            int taskCpus = Integer.parseInt(p.getProperty("spark.task.cpus"));
            assertEquals(0, executorCores % taskCpus, template.toString());
            assertEquals(
                    taskCpus,
                    Integer.parseInt(p.getProperty("spark.executorEnv.OMP_NUM_THREADS")),
                    template.toString());
        }
    }

    @Test
    void gpuTemplatesRequestOneGpuPerTaskAndTheDiscoveryScript() throws IOException {
        int gpuTemplates = 0;
        for (Path template : templates()) {
            Properties p = parse(Files.readString(template), template.toString());
            boolean gpu = template.getFileName().toString().contains("-gpu");
            String taskAmount = p.getProperty("spark.task.resource.gpu.amount");
            if (!gpu) {
                assertNull(taskAmount, template.toString());
                continue;
            }
            gpuTemplates++;
            SparkConf conf = new SparkConf(false).set("spark.task.resource.gpu.amount", taskAmount);
            assertEquals(1.0, GpuBinding.gpusPerTask(conf), template.toString());
            int executorGpus = Integer.parseInt(p.getProperty("spark.executor.resource.gpu.amount"));
            int executorCores = Integer.parseInt(p.getProperty("spark.executor.cores"));
            // As many concurrent tasks by cores as by GPUs, so neither sits idle.
            assertEquals(
                    executorGpus,
                    executorCores / Integer.parseInt(p.getProperty("spark.task.cpus")),
                    template.toString());
            assertTrue(
                    p.getProperty("spark.executor.resource.gpu.discoveryScript").endsWith("/gpu-discovery.sh"),
                    template.toString());
        }
        assertEquals(3, gpuTemplates);
    }

    @Test
    void misspeltKeysAreCaught() throws IOException {
        Properties wrong = parse("""
                spark.executor.memroy  8g
                spark.executor.resource.gpu.amout  1
                spark.task.resource.gpu.discoveryScript  /x.sh
                spark.yarn.queu  default
                spark.kubernetes.container.imag  x
                spark.executorEnv.  1
                spark.serializer  org.apache.spark.serializer.KryoSerializer
                """, "inline");
        List<String> unknown = unknownKeys(wrong);
        unknown.sort(null);
        assertEquals(
                List.of(
                        "'spark.executor.memroy' is neither a registered Spark ConfigEntry, a SparkLauncher key, a"
                                + " custom-resource setting, spark.executorEnv.*, nor a documented YARN/Kubernetes setting",
                        "'spark.executor.resource.gpu.amout' is neither a registered Spark ConfigEntry, a SparkLauncher key,"
                                + " a custom-resource setting, spark.executorEnv.*, nor a documented YARN/Kubernetes setting",
                        "'spark.executorEnv.' is neither a registered Spark ConfigEntry, a SparkLauncher key, a"
                                + " custom-resource setting, spark.executorEnv.*, nor a documented YARN/Kubernetes setting",
                        "'spark.kubernetes.container.imag' is neither a registered Spark ConfigEntry, a SparkLauncher key, a"
                                + " custom-resource setting, spark.executorEnv.*, nor a documented YARN/Kubernetes setting",
                        "'spark.task.resource.gpu.discoveryScript' is neither a registered Spark ConfigEntry, a SparkLauncher"
                                + " key, a custom-resource setting, spark.executorEnv.*, nor a documented YARN/Kubernetes setting",
                        "'spark.yarn.queu' is neither a registered Spark ConfigEntry, a SparkLauncher key, a custom-resource"
                                + " setting, spark.executorEnv.*, nor a documented YARN/Kubernetes setting"),
                unknown);
        // The registries do know the correctly spelt neighbours.
        for (String key : List.of(
                "spark.executor.memory",
                "spark.kryo.registrator",
                "spark.master",
                "spark.executor.resource.gpu.amount",
                "spark.worker.resource.gpu.discoveryScript")) {
            assertNull(SparkSettingKeys.whyUnknown(key), key);
        }
    }

    @Test
    void aKeyGivenTwiceIsRefused() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                IllegalArgumentException.class, () -> parse("spark.task.cpus 1\nspark.task.cpus 2\n", "twice.conf"));
        assertEquals("twice.conf: key spark.task.cpus is set twice", e.getMessage());
    }
}
