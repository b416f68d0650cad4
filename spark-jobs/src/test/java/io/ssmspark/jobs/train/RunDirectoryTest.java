package io.ssmspark.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.jobs.cli.CliRun;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A new run never writes over an earlier run in --out: it is refused, continued (--resume) or replaced (--overwrite). */
class RunDirectoryTest {
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

    /** Two steps with a checkpoint after the first: OUT gets final/, checkpoints/step-00000001 and the files. */
    private static TrainConfig twoSteps(Path out) {
        TrainConfig c = TrainTestSupport.tinyRun(modelFile, out, "float32", 2);
        c.steps = 2;
        c.warmup = 0;
        c.checkpointEvery = 1;
        return c;
    }

    private static List<String> names(Path d) throws IOException {
        try (Stream<Path> files = Files.list(d)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aNewRunRefusesAnOutHoldingARunAndLeavesItAsItWas() throws IOException {
        Path out = dir.resolve("refused");
        new Trainer(spark).train(twoSteps(out));
        byte[] summary = Files.readAllBytes(out.resolve("summary.json"));
        byte[] model = Files.readAllBytes(out.resolve("final/model.safetensors"));

        TrainConfig again = twoSteps(out);
        again.seed = 8L; // another run: it would write other parameters
        FileAlreadyExistsException e =
                assertThrows(FileAlreadyExistsException.class, () -> new Trainer(spark).train(again));
        assertEquals(
                out + ": already holds a run (final/, checkpoints/ (1), metrics.jsonl, summary.json, loss.png);"
                        + " pass --overwrite to remove it and start afresh, or --resume "
                        + out.resolve("checkpoints/step-00000001")
                        + " to continue it",
                e.getMessage());
        assertArrayEquals(summary, Files.readAllBytes(out.resolve("summary.json")));
        assertArrayEquals(model, Files.readAllBytes(out.resolve("final/model.safetensors")));

        // On the command line: one line, exit code 2.
        CliRun r = CliRun.of(
                "train",
                "--model-config",
                modelFile.toString(),
                "--data",
                TrainTestSupport.DATA,
                "--seq-len",
                "32",
                "--global-batch",
                "4",
                "--validation-fraction",
                "0.1",
                "--eval-windows",
                "4",
                "--steps",
                "1",
                "--master",
                TrainTestSupport.MASTER,
                "--out",
                out.toString());
        assertEquals(2, r.code(), r.err());
        assertEquals("ssm-spark train: " + e.getMessage() + "\n", r.err());
        assertArrayEquals(summary, Files.readAllBytes(out.resolve("summary.json")));
    }

    @Test
    void overwriteRemovesTheEarlierRunButNotOtherFiles() throws IOException {
        Path out = dir.resolve("overwritten");
        new Trainer(spark).train(twoSteps(out));
        Files.writeString(out.resolve("notes.txt"), "mine");

        TrainConfig again = twoSteps(out);
        again.checkpointEvery = 0;
        again.steps = 1;
        again.overwrite = true;
        new Trainer(spark).train(again);
        assertEquals(List.of("final", "loss.png", "metrics.jsonl", "notes.txt", "summary.json"), names(out));
        assertEquals(2, Files.readAllLines(out.resolve("metrics.jsonl")).size()); // 1 step + its validation
        assertEquals("mine", Files.readString(out.resolve("notes.txt")));
    }

    @Test
    void resumeContinuesInTheSameOutButNotWithOverwrite() throws IOException {
        Path out = dir.resolve("resumed");
        new Trainer(spark).train(twoSteps(out));
        String checkpoint = out.resolve("checkpoints/step-00000001").toString();

        TrainConfig both = new TrainConfig();
        both.resume = checkpoint;
        both.out = out.toString();
        both.overwrite = true;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(spark).train(both));
        assertEquals(
                "--overwrite would remove --resume " + checkpoint + ", which lies in --out " + out
                        + ": leave out --overwrite to continue the run there, or give another --out",
                e.getMessage());
        assertTrue(Files.isDirectory(Path.of(checkpoint)));

        TrainConfig resume = new TrainConfig();
        resume.resume = checkpoint;
        resume.out = out.toString();
        resume.steps = 3;
        assertEquals(3, new Trainer(spark).train(resume).steps());
        assertEquals(List.of("step-00000001", "step-00000002"), names(out.resolve("checkpoints")));
    }

    @Test
    void anOutThatIsAFileIsRefused() throws IOException {
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> new Trainer(spark).train(twoSteps(file)));
        assertEquals("--out " + file + " is a file; expected a directory for the run's outputs", e.getMessage());
        assertEquals("x", Files.readString(file));
    }

    /** The demo writes into the same --out every time: a rerun replaces its earlier run. */
    @Test
    void theDemoReplacesItsEarlierRun() throws IOException {
        Path out = dir.resolve("demo");
        for (int run = 0; run < 2; run++) {
            CliRun r = CliRun.of("demo", "--steps", "1", "--out", out.toString());
            assertEquals(0, r.code(), r.err());
        }
        assertEquals(List.of("final", "loss.png", "metrics.jsonl", "model-config.json", "summary.json"), names(out));
        assertEquals(2, Files.readAllLines(out.resolve("metrics.jsonl")).size());
        assertFalse(Files.exists(out.resolve("checkpoints")));
    }
}
