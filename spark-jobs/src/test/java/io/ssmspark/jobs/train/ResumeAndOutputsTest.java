package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ssmspark.model.checkpoint.Checkpoint;
import io.ssmspark.model.checkpoint.ModelSize;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.optim.AdamWState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Resume is bit-for-bit; checkpoints, metrics, the PNG and the summary hold what they promise. */
class ResumeAndOutputsTest {
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

    private static TrainConfig tenSteps(String out, String dtype) {
        TrainConfig c = TrainTestSupport.tinyRun(modelFile, dir.resolve(out), dtype, 2);
        c.steps = 10;
        c.warmup = 2;
        c.checkpointEvery = 5;
        c.evalEvery = 4;
        return c;
    }

    private void resumeIsBitwise(String dtype) throws IOException {
        Trainer.Result straight = new Trainer(spark).train(tenSteps("straight-" + dtype, dtype));
        // The same run, stopped after its step-5 checkpoint and resumed from it by a new run with other partitions.
        TrainConfig resumed = new TrainConfig();
        resumed.resume = dir.resolve("straight-" + dtype)
                .resolve("checkpoints/step-00000005")
                .toString();
        resumed.out = dir.resolve("resumed-" + dtype).toString();
        resumed.partitions = 3;
        Trainer.Result second = new Trainer(spark).train(resumed);
        if (dtype.equals("float64")) {
            assertArrayEquals(
                    straight.parameters().toDoubleVector(), second.parameters().toDoubleVector());
        } else {
            assertArrayEquals(
                    straight.parameters().toFloatVector(), second.parameters().toFloatVector());
        }
        assertEquals(straight.validationLoss(), second.validationLoss(), 0.0);
    }

    @Test
    void tenStepsEqualFiveThenResumeForFiveFloat32() throws IOException {
        resumeIsBitwise("float32");
    }

    @Test
    void tenStepsEqualFiveThenResumeForFiveFloat64() throws IOException {
        resumeIsBitwise("float64");
    }

    @Test
    void outputsOfARun() throws IOException {
        TrainConfig run = tenSteps("outputs", "float32");
        Trainer.Result result = new Trainer(spark).train(run);
        Path out = dir.resolve("outputs");

        // The final checkpoint: DESIGN.md's model files plus optimizer and training state; the model loads back.
        Path fin = out.resolve("final");
        try (Stream<Path> files = Files.list(fin)) {
            assertEquals(
                    List.of("config.json", "model.safetensors", "optimizer.safetensors", "training-state.json"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        INDArray loaded = Checkpoint.load(fin, DataType.FLOAT).flatParameters(DataType.FLOAT);
        assertArrayEquals(result.parameters().toFloatVector(), loaded.toFloatVector());
        assertEquals(10, AdamWState.read(fin.resolve("optimizer.safetensors")).step());
        JsonNode state = JSON.readTree(fin.resolve("training-state.json").toFile());
        assertEquals(10, state.get("step").asInt());
        assertEquals(4, state.at("/run/global-batch").asInt());
        try (Stream<Path> files = Files.list(out.resolve("checkpoints"))) {
            assertEquals(
                    List.of("step-00000005"),
                    files.map(p -> p.getFileName().toString()).toList());
        }
        // No temporary file is left anywhere.
        try (Stream<Path> all = Files.walk(out)) {
            assertEquals(
                    List.of(),
                    all.filter(p -> p.getFileName().toString().contains(".tmp")).toList());
        }

        // metrics.jsonl: one train record per step, validation at steps 4, 8 and 10, with the step's timings.
        List<JsonNode> records = Files.readAllLines(out.resolve("metrics.jsonl")).stream()
                .map(ResumeAndOutputsTest::json)
                .toList();
        assertEquals(
                List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
                records.stream()
                        .filter(r -> r.get("type").asText().equals("train"))
                        .map(r -> r.get("step").asInt())
                        .toList());
        assertEquals(
                List.of(4, 8, 10),
                records.stream()
                        .filter(r -> r.get("type").asText().equals("validation"))
                        .map(r -> r.get("step").asInt())
                        .toList());
        JsonNode first = records.get(0);
        assertEquals(4L * 32, first.get("tokens").asLong());
        assertEquals(0.0, first.get("lr").asDouble(), 0.0); // warmup starts at 0
        for (String field : List.of(
                "loss",
                "grad_norm",
                "tokens_per_s",
                "broadcast_ms",
                "job_ms",
                "task_compute_max_ms",
                "aggregate_ms",
                "optimizer_ms")) {
            assertTrue(first.get(field).asDouble() >= 0, field);
        }
        assertTrue(first.get("broadcast_bytes").asLong() > 4L * 10_000, "the parameters travel as float32");
        JsonNode lastValidation = records.get(records.size() - 1);
        assertEquals(result.validationLoss(), lastValidation.get("loss").asDouble(), 0.0);
        assertEquals(
                Math.exp(result.validationLoss()),
                lastValidation.get("perplexity").asDouble(),
                1e-12);
        assertEquals(4, lastValidation.get("windows").asInt());
        // associative-recall has answers: 4 windows of 32 targets hold some, and the accuracy is a fraction of them.
        long answers = lastValidation.get("answers").asLong();
        double accuracy = lastValidation.get("answer_accuracy").asDouble();
        assertTrue(answers > 0 && answers < 4 * 32, answers + " answers");
        assertEquals(Math.rint(accuracy * answers), accuracy * answers, 1e-9, "a count over " + answers);
        assertEquals(result.validationAnswerAccuracy().getAsDouble(), accuracy, 0.0);

        // The PNG renders headless; the summary names the final model and the losses.
        byte[] png = Files.readAllBytes(out.resolve("loss.png"));
        assertTrue(png.length > 1000);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
        JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
        assertEquals(10, summary.get("steps").asInt());
        assertEquals(
                result.validationLoss(), summary.get("final_validation_loss").asDouble(), 0.0);
        assertEquals(accuracy, summary.get("final_validation_answer_accuracy").asDouble(), 0.0);
        assertEquals(
                out.resolve("final").toString(), summary.get("final_checkpoint").asText());
        assertEquals(10L * 4 * 32, summary.get("tokens_trained").asLong());
    }

    @Test
    void dataWithoutAnswersReportsNoAnswerAccuracy() throws IOException {
        TrainConfig run = tenSteps("no-answers", "float32");
        run.data = "synthetic:genome?documents=40&length=200";
        run.steps = 2;
        run.evalEvery = 0;
        run.checkpointEvery = 0;
        Trainer.Result result = new Trainer(spark).train(run);
        Path out = dir.resolve("no-answers");
        assertTrue(result.validationAnswerAccuracy().isEmpty());
        JsonNode summary = JSON.readTree(out.resolve("summary.json").toFile());
        assertTrue(summary.has("final_validation_answer_accuracy"));
        assertTrue(summary.get("final_validation_answer_accuracy").isNull());
        List<JsonNode> validation = Files.readAllLines(out.resolve("metrics.jsonl")).stream()
                .map(ResumeAndOutputsTest::json)
                .filter(r -> r.get("type").asText().equals("validation"))
                .toList();
        assertEquals(1, validation.size());
        assertFalse(validation.get(0).has("answer_accuracy"));
        assertFalse(validation.get(0).has("answers"));
    }

    @Test
    void resumeRefusesOptionsThatChangeTheRun() throws IOException {
        new Trainer(spark).train(tenSteps("to-resume", "float32"));
        TrainConfig changed = new TrainConfig();
        changed.resume =
                dir.resolve("to-resume").resolve("checkpoints/step-00000005").toString();
        changed.out = dir.resolve("resumed-changed").toString();
        changed.lr = 0.5;
        changed.seqLen = 32; // the same as stored: allowed
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> new Trainer(spark).train(changed));
        assertEquals(
                "--resume " + changed.resume + ": cannot change options that decide the numbers of the run:"
                        + " --lr 0.5 (the checkpoint has 0.01)",
                e.getMessage());
        assertFalse(Files.exists(dir.resolve("resumed-changed")));

        TrainConfig done = new TrainConfig();
        done.resume = dir.resolve("to-resume").resolve("final").toString();
        done.out = dir.resolve("resumed-done").toString();
        assertEquals(
                "--resume " + done.resume + ": the checkpoint has already done 10 steps; --steps 10 leaves"
                        + " nothing to do",
                assertThrows(IllegalArgumentException.class, () -> new Trainer(spark).train(done))
                        .getMessage());

        TrainConfig missing = new TrainConfig();
        missing.resume = dir.resolve("no-such-checkpoint").toString();
        missing.out = dir.resolve("resumed-missing").toString();
        IOException io = assertThrows(IOException.class, () -> new Trainer(spark).train(missing));
        assertTrue(io.getMessage().contains("no-such-checkpoint"), io.getMessage());
    }

    /** The final checkpoint of a 1-step run, copied to {@code name} to be broken. */
    private static Path copyOfACheckpoint(String name) throws IOException {
        Path run = dir.resolve("one-step");
        if (!Files.exists(run)) {
            TrainConfig c = TrainTestSupport.tinyRun(modelFile, run, "float32", 2);
            c.steps = 1;
            c.warmup = 0;
            new Trainer(spark).train(c);
        }
        Path copy = Files.createDirectories(dir.resolve(name));
        try (Stream<Path> files = Files.list(run.resolve("final"))) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        return copy;
    }

    private static TrainConfig resumeFrom(Path checkpoint) {
        TrainConfig c = new TrainConfig();
        c.resume = checkpoint.toString();
        c.out = dir.resolve(checkpoint.getFileName() + "-out").toString();
        c.steps = 2;
        return c;
    }

    /** Errors name the user's files, not the temporary local copy the checkpoint is read from. */
    @Test
    void aTruncatedOptimizerFileIsNamedUnderTheCheckpointGiven() throws IOException {
        Path checkpoint = copyOfACheckpoint("truncated");
        Path optimizer = checkpoint.resolve(TrainingCheckpoint.OPTIMIZER_FILE);
        byte[] bytes = Files.readAllBytes(optimizer);
        Files.write(optimizer, Arrays.copyOf(bytes, bytes.length - 100));
        IOException e = assertThrows(IOException.class, () -> new Trainer(spark).train(resumeFrom(checkpoint)));
        assertTrue(e.getMessage().startsWith(optimizer + ": "), e.getMessage());
        assertFalse(e.getMessage().contains("ssm-checkpoint-"), e.getMessage());
        assertFalse(Files.exists(Path.of(resumeFrom(checkpoint).out)));
    }

    /** A checkpoint whose config.json asks for 1.7e12 parameters is refused before its tensors are read. */
    @Test
    void resumingAConfigTooLargeForThisJvmIsRefusedWithItsSize() throws IOException {
        Path checkpoint = copyOfACheckpoint("absurd");
        MambaConfig absurd = TrainTestSupport.tinyModel().toBuilder()
                .dModel(65_536)
                .nLayer(64)
                .attnLayerIdx(List.of())
                .build();
        Files.writeString(checkpoint.resolve("config.json"), absurd.toJson());
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> new Trainer(spark).train(resumeFrom(checkpoint)));
        assertTrue(
                e.getMessage()
                        .startsWith(String.format(
                                Locale.ROOT,
                                "%s: the model has %,d parameters (d_model"
                                        + " 65536, n_layer 64, padded vocabulary 136); training it in float32 ",
                                checkpoint.resolve("config.json"),
                                ModelSize.parameters(absurd))),
                e.getMessage());
    }

    private static JsonNode json(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new AssertionError(line, e);
        }
    }
}
