package io.ssmspark.localtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.jobs.train.TrainConfig;
import io.ssmspark.jobs.train.Trainer;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A training window that does not fit one executor's memory trains cut in two: on a loopback standalone cluster of
 * two executor JVMs, each capped by JavaCPP's maxPhysicalBytes at 2800 MB, a 65,536-token window of a Mamba2 model
 * whose activations take about 25 KB per token fails with --sequence-parallel 1: its task runs out of memory, the
 * job stops at that first failure and says what the task held (the launcher's one line then names
 * --sequence-parallel, UserErrorHandlerTest). With --sequence-parallel 2 it trains, each executor holding half the
 * window. The executors' peak resident sets are printed (measured: 3.4 GB for the whole window when uncapped,
 * 2.2-2.3 GB each for the halves).
 */
class WindowThatDoesNotFitTest {
    private static final int WINDOW = 65536;
    private static final String CAP = System.getProperty("cap", "2800m");

    @TempDir
    static Path dir;

    private static MambaConfig model() {
        return MambaConfig.builder()
                .dModel(64)
                .nLayer(2)
                .vocabSize(8)
                .padVocabSizeMultiple(8)
                .ssm(SsmConfig.builder().dState(16).headdim(16).chunkSize(256).build())
                .build();
    }

    private static TrainConfig run(Path modelFile, String name, int parts) {
        TrainConfig c = new TrainConfig();
        c.modelConfig = modelFile.toString();
        c.data = "synthetic:genome?length=70000&documents=40";
        c.seqLen = WINDOW;
        c.globalBatch = 1;
        c.microBatch = 1;
        c.steps = 1;
        c.partitions = 1;
        c.sequenceParallel = parts;
        c.evalWindows = 1;
        c.validationFraction = 0.05;
        c.out = dir.resolve(name).toString();
        return c;
    }

    @Test
    void aWindowThatDoesNotFitOneExecutorTrainsCutInTwo() throws Exception {
        Path modelFile = dir.resolve("config.json");
        Files.writeString(modelFile, model().toJson());
        try (LoopbackStandaloneCluster cluster = LoopbackStandaloneCluster.start(2, dir.resolve("cluster"))) {
            // one application each, so that each run has executor JVMs of its own and its own peaks
            List<String> cut =
                    inApplication(cluster, spark -> new Trainer(spark).train(run(modelFile, "cut-in-two", 2)));
            System.out.println("--sequence-parallel 2, window " + WINDOW + ": trained; executors' peak RSS " + cut
                    + " (cap " + CAP + ")");
            List<String> whole = inApplication(cluster, spark -> {
                Exception e = assertThrows(Exception.class, () -> new Trainer(spark).train(run(modelFile, "whole", 1)));
                String text = String.valueOf(e.getMessage());
                assertTrue(
                        text.startsWith("a task ran out of memory: java.lang.OutOfMemoryError: ")
                                && text.contains(
                                        "(a task of 1 windows of " + WINDOW + " tokens in micro-batches of 1)"),
                        text);
                System.out.println("--sequence-parallel 1, window " + WINDOW + ": " + firstLine(text));
            });
            System.out.println("--sequence-parallel 1: executors' peak RSS " + whole + " (cap " + CAP + ")");
        }
    }

    /** A training run in a body of its own. */
    private interface Body {
        void run(SparkSession spark) throws Exception;
    }

    /** Runs {@code body} in an application of its own on the cluster; returns its executors' peak resident sets. */
    private static List<String> inApplication(LoopbackStandaloneCluster cluster, Body body) throws Exception {
        // a session another test left running (a command run in this JVM) would be reused, in local mode
        SparkSession.getDefaultSession().foreach(s -> {
            s.stop();
            return null;
        });
        SparkSessions builder = SparkSessions.builder("window-that-does-not-fit")
                .master(cluster.masterUrl())
                .forTests();
        Map<String, String> conf = cluster.executorConf(2);
        conf.put(
                "spark.executor.extraJavaOptions",
                conf.get("spark.executor.extraJavaOptions") + " -Dorg.bytedeco.javacpp.maxPhysicalBytes=" + CAP);
        conf.forEach(builder::conf);
        SparkSession spark = builder.build();
        try {
            assertEquals(cluster.masterUrl(), spark.sparkContext().master());
            cluster.await(
                    "two executors to register with the driver",
                    () -> spark.sparkContext().statusTracker().getExecutorInfos().length == 3);
            body.run(spark);
            return peakResidentSets(cluster);
        } finally {
            spark.stop();
        }
    }

    /** VmHWM of each executor JVM (from /proc). */
    private static List<String> peakResidentSets(LoopbackStandaloneCluster cluster) throws Exception {
        List<String> out = new ArrayList<>();
        for (List<ProcessHandle> worker : cluster.executorProcesses()) {
            for (ProcessHandle p : worker) {
                for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(p.pid()), "status"))) {
                    if (line.startsWith("VmHWM:")) {
                        out.add(line.substring(6).strip());
                    }
                }
            }
        }
        return out;
    }

    private static String firstLine(String s) {
        int at = s.indexOf("java.lang.OutOfMemoryError");
        String from = at >= 0 ? s.substring(at) : s;
        int end = from.indexOf('\n');
        return end < 0 ? from : from.substring(0, end);
    }
}
