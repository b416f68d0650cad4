package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ssmspark.jobs.Main;
import io.ssmspark.jobs.spark.TaskSetup;
import io.ssmspark.model.checkpoint.ModelSize;
import io.ssmspark.model.config.MambaConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A diverging run stops (or skips) without a poisoned checkpoint; bad options get one clear message. */
class FailuresAndConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static SparkSession spark;

    @TempDir
    static Path dir;

    private static Path modelFile;

    /** Other test classes start their own SparkContext; only one may run per JVM. */
    @AfterAll
    static void stop() {
        spark.stop();
    }

    @BeforeAll
    static void start() throws IOException {
        spark = TrainTestSupport.spark();
        modelFile = TrainTestSupport.writeModel(dir, TrainTestSupport.tinyModel());
    }

    /** lr 1e30 makes step 1's AdamW update about 1e30 per parameter, so step 2's float32 forward overflows. */
    private static TrainConfig diverging(String out) {
        TrainConfig c = TrainTestSupport.tinyRun(modelFile, dir.resolve(out), "float32", 2);
        c.lr = 1e30;
        c.minLr = 1e30;
        c.warmup = 0;
        c.steps = 3;
        c.checkpointEvery = 1;
        return c;
    }

    @Test
    void aNonFiniteLossStopsTheRunNamingTheStepAndWritesNoCheckpointOfIt() throws IOException {
        NonFiniteTrainingException e =
                assertThrows(NonFiniteTrainingException.class, () -> new Trainer(spark).train(diverging("nan-stop")));
        assertEquals(2, e.step());
        assertTrue(e.getMessage().startsWith("step 2: the training loss is NaN"), e.getMessage());
        assertTrue(
                e.getMessage()
                        .contains("no checkpoint of this state is written (last checkpoint: "
                                + dir.resolve("nan-stop").resolve("checkpoints").resolve("step-00000001") + ")"),
                e.getMessage());
        Path out = dir.resolve("nan-stop");
        try (Stream<Path> files = Files.list(out.resolve("checkpoints"))) {
            assertEquals(
                    List.of("step-00000001"),
                    files.map(p -> p.getFileName().toString()).toList());
        }
        assertFalse(Files.exists(out.resolve("final")));
        List<String> metrics = Files.readAllLines(out.resolve("metrics.jsonl"));
        JsonNode last = JSON.readTree(metrics.get(metrics.size() - 1));
        assertEquals(2, last.get("step").asInt());
        assertTrue(last.get("skipped").asBoolean());
    }

    @Test
    void skipNonfiniteSkipsTheStepsAndKeepsTheParameters() throws IOException {
        TrainConfig c = diverging("nan-skip");
        c.skipNonfinite = true;
        c.checkpointEvery = 0;
        Trainer.Result r = new Trainer(spark).train(c);
        List<String> metrics = Files.readAllLines(dir.resolve("nan-skip").resolve("metrics.jsonl"));
        List<Boolean> skipped = metrics.stream()
                .map(FailuresAndConfigTest::json)
                .filter(n -> n.get("type").asText().equals("train"))
                .map(n -> n.path("skipped").asBoolean(false))
                .toList();
        assertEquals(List.of(false, true, true), skipped);
        assertTrue(Files.exists(dir.resolve("nan-skip").resolve("final").resolve("model.safetensors")));
        assertEquals(3, r.steps());
    }

    @Test
    void aModelVocabularySmallerThanTheDataIsRefusedNamingBoth() throws IOException {
        MambaConfig small =
                TrainTestSupport.tinyModel().toBuilder().vocabSize(100).build();
        Path smallDir = Files.createDirectories(dir.resolve("small"));
        TrainConfig c = TrainTestSupport.tinyRun(
                TrainTestSupport.writeModel(smallDir, small), dir.resolve("vocab"), "float32", 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(spark).train(c));
        assertEquals(
                "data vocabulary 'associative-recall' (synthetic) needs 129 token ids but the model config has"
                        + " vocab_size 100",
                e.getMessage());
    }

    /**
     * d_model 65,536 with 64 layers ends in std::bad_alloc when allocated, and a million layers of d_model 16 took
     * 41 s and 3 GB before failing: both are refused from the config alone, with their size, before anything is
     * allocated or written.
     */
    @Test
    void aModelTooLargeForThisJvmIsRefusedWithItsSizeBeforeAnythingIsAllocated() throws IOException {
        MambaConfig wide = TrainTestSupport.tinyModel().toBuilder()
                .dModel(65_536)
                .nLayer(64)
                .build();
        Path wideFile = TrainTestSupport.writeModel(Files.createDirectories(dir.resolve("wide")), wide);
        TrainConfig c = TrainTestSupport.tinyRun(wideFile, dir.resolve("wide-run"), "float32", 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(spark).train(c));
        long parameters = ModelSize.parameters(wide);
        String expected = String.format(
                Locale.ROOT,
                "%s: the model has %,d parameters (d_model 65536, n_layer 64,"
                        + " padded vocabulary 136); training it in float32 (the parameters, AdamW's state, the gradient sums and the"
                        + " broadcast copy) holds them in one Java array, of at most 2,147,483,639 entries: make the model smaller"
                        + " (d_model, n_layer, d_intermediate, vocab_size)",
                wideFile,
                parameters);
        assertEquals(expected, e.getMessage());
        assertFalse(Files.exists(dir.resolve("wide-run")));

        Result r = cli(
                "train",
                "--model-config",
                wideFile.toString(),
                "--data",
                TrainTestSupport.DATA,
                "--master",
                TrainTestSupport.MASTER,
                "--out",
                dir.resolve("wide-run").toString());
        assertEquals(2, r.code, r.err);
        assertEquals("ssm-spark train: " + expected + "\n", r.err);

        // A million layers: counted at once (8.3e9 parameters), not built.
        MambaConfig deep = TrainTestSupport.tinyModel().toBuilder()
                .nLayer(1_000_000)
                .attnLayerIdx(List.of())
                .build();
        Path deepFile = TrainTestSupport.writeModel(Files.createDirectories(dir.resolve("deep")), deep);
        long start = System.nanoTime();
        e = assertThrows(
                IllegalArgumentException.class,
                () -> new Trainer(spark)
                        .train(TrainTestSupport.tinyRun(deepFile, dir.resolve("deep-run"), "float32", 2)));
        assertTrue((System.nanoTime() - start) / 1e9 < 10, "refused from the config, not after building the layers");
        assertTrue(
                e.getMessage()
                        .startsWith(String.format(
                                Locale.ROOT,
                                "%s: the model has %,d parameters (d_model 16,"
                                        + " n_layer 1000000, padded vocabulary 136); training it in float32",
                                deepFile,
                                ModelSize.parameters(deep))),
                e.getMessage());

        // 1.7e9 parameters fit one Java array, but at 72 bytes each (4 on the heap) not this JVM of 3 GB of heap.
        MambaConfig fewer = deep.toBuilder().nLayer(200_000).build();
        Path fewerFile = TrainTestSupport.writeModel(Files.createDirectories(dir.resolve("fewer")), fewer);
        e = assertThrows(
                IllegalArgumentException.class,
                () -> new Trainer(spark)
                        .train(TrainTestSupport.tinyRun(fewerFile, dir.resolve("deep-run"), "float32", 2)));
        assertTrue(
                e.getMessage()
                        .startsWith(String.format(
                                Locale.ROOT,
                                "%s: the model has %,d parameters (d_model 16,"
                                        + " n_layer 200000, padded vocabulary 136); training it in float32 (the parameters, AdamW's state, the"
                                        + " gradient sums and the broadcast copy) needs at least ",
                                fewerFile,
                                ModelSize.parameters(fewer))),
                e.getMessage());
        assertTrue(e.getMessage().contains(" (72 bytes per parameter, "), e.getMessage());
        assertTrue(
                e.getMessage()
                        .contains("-Xmx "
                                + String.format(
                                        Locale.ROOT,
                                        "%.1f GiB",
                                        Runtime.getRuntime().maxMemory() / (double) (1L << 30))
                                + "): make the model smaller"),
                e.getMessage());
        assertFalse(Files.exists(dir.resolve("deep-run")));
    }

    @Test
    void aBatchLargerThanTheTrainingSplitIsRefused() {
        TrainConfig c = TrainTestSupport.tinyRun(modelFile, dir.resolve("batch"), "float32", 2);
        c.globalBatch = 100_000;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(spark).train(c));
        assertTrue(
                e.getMessage().startsWith("--global-batch 100000 windows per step but the training split has only "),
                e.getMessage());
    }

    @Test
    void taskSetupRunsInsideTasksAndRefusesTheDriver() {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<Boolean> bound = sc.parallelize(List.of(1, 2), 2)
                .map(i -> TaskSetup.beforeTask().isPresent())
                .collect();
        assertEquals(List.of(false, false), bound); // no GPU requested: nothing bound
        IllegalStateException e = assertThrows(IllegalStateException.class, TaskSetup::beforeTask);
        assertTrue(e.getMessage().contains("must be called inside a Spark task"), e.getMessage());
    }

    @Test
    void theCommandLineReadsAJobConfigAndOverridesIt() throws IOException {
        Path jobConfig = dir.resolve("job.json");
        Files.writeString(
                jobConfig,
                "{\"command\": \"train\", \"about\": \"test\", \"options\": {"
                        + "\"model-config\": \"" + modelFile + "\", \"data\": \"" + TrainTestSupport.DATA + "\","
                        + " \"seq-len\": 32, \"global-batch\": 4, \"steps\": 50, \"seed\": 7, \"lr\": 0.01,"
                        + " \"validation-fraction\": 0.1, \"eval-windows\": 4, \"master\": \"" + TrainTestSupport.MASTER
                        + "\"}}");
        Path out = dir.resolve("cli");
        // --out as a Hadoop URI: the run's files go through Hadoop's FileSystem API.
        Result r = cli("train", "--config", jobConfig.toString(), "--steps", "2", "--out", "file://" + out);
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.startsWith("trained 2 steps: train loss "), r.out);
        assertTrue(r.out.contains("final model: file:" + out.resolve("final")), r.out);
        assertTrue(Files.isRegularFile(out.resolve("metrics.jsonl")));
        assertTrue(Files.isRegularFile(out.resolve("loss.png")));
        JsonNode state = JSON.readTree(
                out.resolve("final").resolve("training-state.json").toFile());
        assertEquals(2, state.at("/run/steps").asInt());
        assertEquals(32, state.at("/run/seq-len").asInt());
    }

    @Test
    void badOptionsGetOneClearMessageAndExitCode2() throws IOException {
        Path unknown = dir.resolve("unknown.json");
        Files.writeString(unknown, "{\"command\": \"train\", \"options\": {\"sequence-length\": 32}}");
        Result r = cli("train", "--config", unknown.toString());
        assertEquals(2, r.code);
        assertEquals("ssm-spark train: " + unknown + ": options.sequence-length is not a train option\n", r.err);

        r = cli(
                "train",
                "--model-config",
                modelFile.toString(),
                "--data",
                "synthetic:associative-recall",
                "--out",
                dir.resolve("x").toString(),
                "--global-batch",
                "6",
                "--grad-accum",
                "4");
        assertEquals(2, r.code);
        assertEquals(
                "ssm-spark train: --global-batch 6 must be a multiple of --grad-accum 4 (each accumulation round"
                        + " takes global-batch / grad-accum windows)\n",
                r.err);

        r = cli(
                "train",
                "--model-config",
                modelFile.toString(),
                "--data",
                "synthetic:associative-recall",
                "--out",
                dir.resolve("x").toString(),
                "--global-batch",
                "8",
                "--grad-accum",
                "2",
                "--micro-batch",
                "3");
        assertEquals(
                "ssm-spark train: --micro-batch 3 must divide the 4 windows of each accumulation round"
                        + " (--global-batch 8 / --grad-accum 2)\n",
                r.err);

        r = cli(
                "train",
                "--data",
                "synthetic:associative-recall",
                "--out",
                dir.resolve("x").toString());
        assertEquals("ssm-spark train: --model-config: required (a config.json of the model to train)\n", r.err);

        r = cli(
                "train",
                "--model-config",
                modelFile.toString(),
                "--data",
                "synthetic:associative-recall",
                "--out",
                dir.resolve("x").toString(),
                "--dtype",
                "bfloat16");
        assertEquals("ssm-spark train: --dtype: expected float32 or float64 but found 'bfloat16'\n", r.err);

        r = cli(
                "train",
                "--model-config",
                modelFile.toString(),
                "--data",
                "synthetic:associative-recall",
                "--out",
                dir.resolve("x").toString(),
                "--lr",
                "0");
        assertEquals("ssm-spark train: --lr: expected a finite number > 0 but found 0.0\n", r.err);

        r = cli(
                "train",
                "--model-config",
                modelFile.toString(),
                "--data",
                "synthetic:associative-recall",
                "--out",
                dir.resolve("x").toString(),
                "--inject-task-failure",
                "two:1");
        assertEquals(
                "ssm-spark train: --inject-task-failure: expected STEP:PARTITION or reduce:STEP:SHARD (step >= 1, partition or shard >= 0) but"
                        + " found 'two:1'\n",
                r.err);

        Path wrongCommand = dir.resolve("score.json");
        Files.writeString(wrongCommand, "{\"command\": \"score\", \"options\": {}}");
        r = cli("train", "--config", wrongCommand.toString());
        assertEquals("ssm-spark train: " + wrongCommand + ": field 'command' is 'score', expected 'train'\n", r.err);
        assertFalse(Files.exists(dir.resolve("x")));
    }

    @Test
    void theExampleJobConfigParsesAsTrainOptions() throws IOException {
        TrainConfig example = TrainConfig.readJobConfig(Path.of("../cluster-conf/examples/train.json"));
        assertEquals(256, example.seqLen);
        assertEquals(32, example.globalBatch);
        assertEquals("hdfs:///user/ssm/runs/associative-recall", example.out);
        TrainConfig merged = example.withDefaults();
        merged.validate();
        assertEquals(1e-4, merged.minLr, 1e-18); // lr / 10
    }

    private record Result(int code, String out, String err) {}

    private static Result cli(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            code = Main.run(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static JsonNode json(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new AssertionError(line, e);
        }
    }
}
