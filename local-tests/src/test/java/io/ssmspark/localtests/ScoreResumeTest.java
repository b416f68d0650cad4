package io.ssmspark.localtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.checkpoint.Checkpoint;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.lm.ModelInit;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * {@code score} stopped and continued as a user would: SIGTERM in the middle of a run keeps its committed waves and
 * says how to continue; {@code --resume} is then killed with SIGKILL (no shutdown hook runs: a lost driver);
 * {@code --resume} again finishes. The output equals an uninterrupted run's, row for row and bit for bit, with no
 * position missing or twice, and the progress directory is gone.
 */
class ScoreResumeTest {
    private static final Map<String, String> NO_ENV = Map.of();

    @TempDir
    Path dir;

    /** Mamba2, sliding-window attention, Mamba2 (d_model 8), vocab 13: many small waves. */
    private Path model() throws IOException {
        MambaConfig c = MambaConfig.builder()
                .dModel(8)
                .nLayer(3)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .dIntermediate(16)
                .ssm(SsmConfig.builder()
                        .dState(4)
                        .dConv(4)
                        .expand(2)
                        .headdim(4)
                        .ngroups(1)
                        .chunkSize(4)
                        .build())
                .attnLayerIdx(List.of(1))
                .attn(AttnConfig.builder()
                        .numHeads(2)
                        .numHeadsKv(2)
                        .headDim(4)
                        .rotaryEmbDim(4)
                        .windowSize(16)
                        .build())
                .build();
        Path m = dir.resolve("model");
        Checkpoint.save(m, c, ModelInit.initialize(c, 3, DataType.FLOAT));
        return m;
    }

    private String[] score(Path model, Path input, String output, String... more) {
        List<String> args = new ArrayList<>(List.of(
                "score",
                "--model",
                model.toString(),
                "--input",
                input.toString(),
                "--input-format",
                "tokens-i32",
                "--output",
                output,
                "--format",
                "csv",
                "--segment-length",
                "40",
                "--commit-every",
                "2",
                "--master",
                "local[2]",
                "--conf",
                "spark.ui.enabled=false"));
        args.addAll(List.of(more));
        return args.toArray(new String[0]);
    }

    @Test
    void stoppedKilledAndResumedScoresAsAnUninterruptedRun() throws Exception {
        Path model = model();
        int[] ids = new Random(5).ints(16_000, 0, 13).toArray();
        ByteBuffer b = ByteBuffer.allocate(ids.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int id : ids) {
            b.putInt(id);
        }
        Path input = Files.write(dir.resolve("long.i32"), b.array()); // 400 segments: 200 waves, 100 commits

        SsmSparkProcess.Output whole = SsmSparkProcess.run(dir, NO_ENV, 600, score(model, input, "whole"));
        assertEquals(0, whole.code(), whole.errText());

        Path commits = dir.resolve("scores/_scoring/commits");
        try (SsmSparkProcess p = SsmSparkProcess.start(dir, NO_ENV, score(model, input, "scores"))) {
            awaitFile(p, commits.resolve("commit-000003.bin"));
            p.terminate();
            SsmSparkProcess.Output r = p.waitFor(60);
            assertEquals(143, r.code(), r.errText()); // 128 + SIGTERM
            String last = r.err().get(r.err().size() - 1);
            assertTrue(
                    last.matches("ssm-spark score: interrupted \\(SIGINT or SIGTERM\\); \\d+ commits of scored waves"
                            + " are kept in .*scores/_scoring; run the same command with --resume to continue"),
                    last);
        }
        try (SsmSparkProcess p = SsmSparkProcess.start(dir, NO_ENV, score(model, input, "scores", "--resume"))) {
            p.awaitErrLine(l -> l.contains("resuming from"), 120);
            int before = committed(commits);
            awaitFile(p, commits.resolve(String.format("commit-%06d.bin", before + 3)));
            p.kill();
            p.waitFor(60);
        }
        assertTrue(Files.exists(dir.resolve("scores/_scoring/manifest.json")), "a killed run leaves its progress");
        SsmSparkProcess.Output resumed =
                SsmSparkProcess.run(dir, NO_ENV, 600, score(model, input, "scores", "--resume"));
        assertEquals(0, resumed.code(), resumed.errText());
        assertTrue(
                resumed.err().stream()
                        .anyMatch(l -> l.matches(".*resuming from .*: waves 0 to \\d+ of 200 are committed.*")),
                resumed.errText());
        assertFalse(Files.exists(dir.resolve("scores/_scoring")), "the progress directory is removed at the end");

        List<String> expected = rows(dir.resolve("whole/tokens"));
        List<String> got = rows(dir.resolve("scores/tokens"));
        assertEquals(ids.length - 1, expected.size());
        assertEquals(expected, got, "the token rows of an uninterrupted run, each once");
        assertEquals(rows(dir.resolve("whole/summary")), rows(dir.resolve("scores/summary")));

        SsmSparkProcess.Output again = SsmSparkProcess.run(dir, NO_ENV, 300, score(model, input, "scores", "--resume"));
        assertEquals(0, again.code(), again.errText());
        assertTrue(
                again.out().contains("--resume: scores is a finished score output; nothing left to do"),
                again.out().toString());
    }

    private static int committed(Path commits) throws IOException {
        try (Stream<Path> files = Files.list(commits)) {
            return (int) files.filter(f -> f.getFileName().toString().startsWith("commit-"))
                    .count();
        }
    }

    private static void awaitFile(SsmSparkProcess p, Path file) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (!Files.exists(file)) {
            assertTrue(p.isAlive(), "the run ended before " + file + " was written");
            assertTrue(System.nanoTime() < deadline, "no " + file + " within 180 s");
            Thread.sleep(20);
        }
    }

    /** The data rows of the CSV part files under {@code dir}, sorted (each file's header left out). */
    private static List<String> rows(Path dir) throws IOException {
        List<String> rows = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".csv"))
                    .toList()) {
                List<String> lines = Files.readAllLines(f);
                rows.addAll(lines.subList(Math.min(1, lines.size()), lines.size()));
            }
        }
        rows.sort(null);
        return rows;
    }
}
