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
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * What a user sees on the console from {@code bin/ssm-spark} (its own log4j2 configuration, local mode): a bad
 * input found inside a Spark task is one line without stack frames; SIGTERM ends in one line saying what was left;
 * running out of memory is one short line naming the settings; {@code score} and {@code nll} log progress to the end.
 */
class ConsoleOutputTest {
    /** A second Spark on this machine would make ours warn that port 4040 is taken. */
    private static final String NO_UI = "spark.ui.enabled=false";

    private static final Map<String, String> NO_ENV = Map.of();

    @TempDir
    Path dir;

    private Path model;

    /** A hybrid: Mamba2, full attention, Mamba2 (d_model 8, d_conv 4, chunk 4), vocab 13. */
    @BeforeEach
    void saveModel() throws IOException {
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
                        .build())
                .build();
        model = dir.resolve("model");
        Checkpoint.save(model, c, ModelInit.initialize(c, 3, DataType.FLOAT));
    }

    private Path tokens(String name, int... ids) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(ids.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int id : ids) {
            b.putInt(id);
        }
        return Files.write(dir.resolve(name), b.array());
    }

    private Path randomTokens(String name, int n) throws IOException {
        return tokens(name, new Random(n).ints(n, 0, 13).toArray());
    }

    private static void assertNoStackFrames(List<String> lines) {
        for (String line : lines) {
            assertFalse(
                    line.startsWith("\tat ") || line.startsWith("Caused by:"),
                    "a stack frame: " + line + "\n" + String.join("\n", lines));
        }
    }

    /**
     * SIGTERM during training once a checkpoint is written: one line naming the last checkpoint and how to continue
     * from it, and no stack frame.
     */
    @Test
    void sigtermDuringTrainingNamesTheLastCheckpoint() throws Exception {
        Path config = dir.resolve("model").resolve("config.json");
        try (SsmSparkProcess p = SsmSparkProcess.start(
                dir,
                NO_ENV,
                "train",
                "--model-config",
                config.toString(),
                "--data",
                "synthetic:induction-copy?documents=200&length=5&alphabet=11",
                "--seq-len",
                "24",
                "--steps",
                "100000",
                "--checkpoint-every",
                "1",
                "--partitions",
                "1",
                "--master",
                "local[1]",
                "--out",
                "run",
                "--conf",
                NO_UI)) {
            p.awaitErrLine(l -> l.contains("checkpoint of step 1 written"), 120);
            p.terminate();
            SsmSparkProcess.Output r = p.waitFor(60);
            assertEquals(143, r.code(), r.errText());
            assertNoStackFrames(r.err());
            String last = r.err().get(r.err().size() - 1);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("ssm-spark train: interrupted \\(SIGINT or "
                            + "SIGTERM\\); (run/checkpoints/step-\\d{8}) is the last checkpoint; continue with --resume (\\S+)"
                            // on a loaded machine the step in flight may outlast the 20 s wait; the line says so
                            + "( \\(it was still running 20 s later, so this may not hold\\))?")
                    .matcher(last);
            assertTrue(m.matches(), r.errText());
            assertEquals(m.group(1), m.group(2));
            assertTrue(Files.isDirectory(dir.resolve(m.group(1))), m.group(1));
        }
    }

    /** Token id 40 at byte 12 of a vocabulary of 13, and a '-' in a FASTA sequence: one line each, nothing else. */
    @Test
    void aBadRecordFoundInASparkTaskIsOneLine() throws Exception {
        Path bad = tokens("bad.i32", 1, 2, 3, 40, 5);
        SsmSparkProcess.Output r = SsmSparkProcess.run(
                dir,
                NO_ENV,
                120,
                "score",
                "--model",
                model.toString(),
                "--input",
                bad.toString(),
                "--input-format",
                "tokens-i32",
                "--output",
                "out",
                "--master",
                "local[2]",
                "--conf",
                NO_UI);
        assertEquals(2, r.code(), r.errText());
        assertEquals(
                List.of("ssm-spark score: " + bad.toUri().toString().replace("file:///", "file:/") + ": at byte "
                        + "offset 12: token id 40 outside the vocabulary [0, 13) (use --skip-bad-records to skip such records and go"
                        + " on)"),
                r.err());
        assertEquals(List.of(), r.out());
        assertFalse(Files.exists(dir.resolve("out")));

        Path fasta = Files.writeString(dir.resolve("bad.fa"), ">a\nACGT\nAC-GT\n");
        SsmSparkProcess.Output f = SsmSparkProcess.run(
                dir,
                NO_ENV,
                120,
                "score",
                "--model",
                model.toString(),
                "--input",
                fasta.toString(),
                "--input-format",
                "fasta",
                "--output",
                "out",
                "--master",
                "local[2]",
                "--conf",
                NO_UI);
        assertEquals(2, f.code(), f.errText());
        assertEquals(1, f.err().size(), f.errText());
        assertTrue(
                f.err().get(0).startsWith("ssm-spark score: ")
                        && f.err().get(0).contains("bad.fa: at byte offset 10: invalid FASTA sequence character '-'"),
                f.errText());
    }

    /**
     * score (160 tokens in 8 segments on 2 tasks: 4 waves of 3 layers) and nll (159 positions in 10 windows of 16)
     * with a line every 0.1 s / 0.01 s: well-formed lines that never go back, the right totals, a last line at 100%.
     */
    @Test
    void scoreAndNllLogProgressToTheEnd() throws Exception {
        Path input = randomTokens("in.i32", 160);
        SsmSparkProcess.Output s = SsmSparkProcess.run(
                dir,
                NO_ENV,
                180,
                "score",
                "--model",
                model.toString(),
                "--input",
                input.toString(),
                "--input-format",
                "tokens-i32",
                "--output",
                "scores",
                "--segment-length",
                "20",
                "--master",
                "local[2]",
                "--conf",
                NO_UI,
                "--conf",
                "spark.ssm.progress.seconds=0.1");
        assertEquals(0, s.code(), s.errText());
        List<String> scoreLines = progressLines(s.err(), "SequenceParallelScorer: ");
        assertTrue(scoreLines.size() >= 2, s.errText());
        assertMonotone(
                scoreLines,
                Pattern.compile("(\\d+\\.\\d)%  wave (\\d+)/4  layer \\d/3  segments (\\d+)/8  "
                        + "tokens (\\d+)/160  tokens/s \\d+  elapsed \\d+:\\d\\d:\\d\\d  ETA (\\d+:\\d\\d:\\d\\d|\\?)"
                        + "(?:  exchange wait \\d+%)?  committed \\d/4 waves"));
        assertTrue(
                scoreLines
                        .get(scoreLines.size() - 1)
                        .startsWith("100.0%  wave 4/4  layer 3/3  segments 8/8  tokens 160/160  "),
                s.errText());
        for (String line : s.err()) {
            assertTrue(
                    line.contains(" INFO  SequenceParallelScorer: ") || line.contains(" INFO  ScoreCommand: writing "),
                    "only progress on stderr: " + line);
        }

        SsmSparkProcess.Output n = SsmSparkProcess.run(
                dir,
                NO_ENV,
                120,
                "nll",
                "--model",
                model.toString(),
                "--tokens",
                input.toString(),
                "--out",
                "nll.csv",
                "--window",
                "16",
                "--conf",
                "spark.ssm.progress.seconds=0.01");
        assertEquals(0, n.code(), n.errText());
        List<String> nllLines = progressLines(n.err(), "NllCommand: ");
        assertEquals(n.err().size(), nllLines.size(), "only progress on stderr:\n" + n.errText());
        assertMonotone(
                nllLines,
                Pattern.compile("(\\d+\\.\\d)%  window (\\d+)/10  tokens (\\d+)/159  tokens/s \\d+  "
                        + "elapsed \\d+:\\d\\d:\\d\\d  ETA (\\d+:\\d\\d:\\d\\d|\\?)"));
        assertTrue(nllLines.get(nllLines.size() - 1).startsWith("100.0%  window 10/10  tokens 159/159  "), n.errText());
    }

    private static List<String> progressLines(List<String> err, String logger) {
        return err.stream()
                .filter(l -> l.contains(" INFO  " + logger))
                .map(l -> l.substring(l.indexOf(logger) + logger.length()))
                .toList();
    }

    /** Every line matches, and each number group never decreases from one line to the next. */
    private static void assertMonotone(List<String> lines, Pattern form) {
        double[] previous = null;
        for (String line : lines) {
            Matcher m = form.matcher(line);
            assertTrue(m.matches(), line);
            double[] now = new double[m.groupCount() - 1]; // the last group is the ETA
            for (int i = 0; i < now.length; i++) {
                now[i] = Double.parseDouble(m.group(i + 1));
                assertTrue(
                        previous == null || now[i] >= previous[i],
                        "went back: " + line + "\n" + String.join("\n", lines));
            }
            previous = now;
        }
    }

    /** SIGTERM while generate is making tokens: one line saying nothing was printed, no stack frame. */
    @Test
    void sigtermDuringGenerateSaysNothingWasPrinted() throws Exception {
        try (SsmSparkProcess p = SsmSparkProcess.start(
                dir,
                NO_ENV,
                "generate",
                "--model",
                model.toString(),
                "--prompt-tokens",
                "1,2,3",
                "--max-new",
                "2000000")) {
            p.awaitErrLine(l -> l.contains("GenerateCommand: generating 2000000 tokens"), 120);
            p.terminate();
            SsmSparkProcess.Output r = p.waitFor(60);
            assertEquals(143, r.code(), r.errText());
            assertNoStackFrames(r.err());
            assertEquals(
                    "ssm-spark generate: interrupted (SIGINT or SIGTERM); nothing was printed (generate prints the"
                            + " tokens once all 2000000 are made)",
                    r.err().get(r.err().size() - 1),
                    r.errText());
        }
    }

    /**
     * SIGTERM once score (2000 tokens, 40 segments) and nll (20,000 positions in windows of 16) have logged progress:
     * each ends in exactly one line saying that nothing was written, with no stack frame, and leaves no file.
     */
    @Test
    void sigtermEndsInOneLineSayingWhatWasLeft() throws Exception {
        Path input = randomTokens("long.i32", 2000);
        try (SsmSparkProcess p = SsmSparkProcess.start(
                dir,
                NO_ENV,
                "score",
                "--model",
                model.toString(),
                "--input",
                input.toString(),
                "--input-format",
                "tokens-i32",
                "--output",
                "scores",
                "--segment-length",
                "50",
                "--commit-every",
                "1000", // one commit, at the end: stopped before it, the run leaves nothing (ScoreResumeTest: after)
                "--master",
                "local[2]",
                "--conf",
                NO_UI,
                "--conf",
                "spark.ssm.progress.seconds=0.1")) {
            p.awaitErrLine(l -> l.contains("SequenceParallelScorer: "), 120);
            p.terminate();
            SsmSparkProcess.Output r = p.waitFor(60);
            assertEquals(143, r.code(), r.errText()); // 128 + SIGTERM
            assertNoStackFrames(r.err());
            assertEquals(
                    "ssm-spark score: interrupted (SIGINT or SIGTERM); nothing was committed yet (scores was removed)",
                    r.err().get(r.err().size() - 1),
                    r.errText());
            assertEquals(
                    1,
                    r.err().stream()
                            .filter(l -> !l.contains(" INFO  SequenceParallelScorer: "))
                            .count(),
                    r.errText());
            assertFalse(Files.exists(dir.resolve("scores")));
        }

        Path longer = randomTokens("longer.i32", 20_001);
        try (SsmSparkProcess p = SsmSparkProcess.start(
                dir,
                NO_ENV,
                "nll",
                "--model",
                model.toString(),
                "--tokens",
                longer.toString(),
                "--out",
                "nll.csv",
                "--window",
                "16",
                "--conf",
                "spark.ssm.progress.seconds=0.05")) {
            p.awaitErrLine(l -> l.contains("NllCommand: "), 120);
            p.terminate();
            SsmSparkProcess.Output r = p.waitFor(60);
            assertEquals(143, r.code(), r.errText());
            assertNoStackFrames(r.err());
            assertEquals(
                    "ssm-spark nll: interrupted (SIGINT or SIGTERM); nll.csv was not written (its partial copy was "
                            + "removed)",
                    r.err().get(r.err().size() - 1),
                    r.errText());
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(
                        List.of(),
                        files.filter(f -> f.getFileName().toString().contains("nll.csv"))
                                .toList());
            }
        }
    }

    /**
     * A one-layer Mamba-2 of bench width (d_model 256, d_state 64) needs gigabytes of native memory for a window or
     * segment of 65,536 tokens; JavaCPP's guard (org.bytedeco.javacpp.maxPhysicalBytes) stops it first. nll and score
     * each say so in one line naming their own setting and the memory settings, with exit code 3.
     */
    @Test
    void runningOutOfMemoryIsOneShortLine() throws Exception {
        MambaConfig wide = MambaConfig.builder()
                .dModel(256)
                .nLayer(1)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .dIntermediate(0)
                .ssm(SsmConfig.builder().dState(64).headdim(32).chunkSize(64).build())
                .build();
        Path wideModel = dir.resolve("wide");
        Checkpoint.save(wideModel, wide, ModelInit.initialize(wide, 3, DataType.FLOAT));
        Path input = randomTokens("wide.i32", 65_537);

        SsmSparkProcess.Output n = SsmSparkProcess.run(
                dir,
                Map.of("SSM_SPARK_JAVA_OPTS", "-Xmx1g -Dorg.bytedeco.javacpp.maxPhysicalBytes=800m"),
                180,
                "nll",
                "--model",
                wideModel.toString(),
                "--tokens",
                input.toString(),
                "--out",
                "nll.csv",
                "--window",
                "65536");
        assertEquals(3, n.code(), n.errText());
        assertEquals(1, n.err().size(), n.errText());
        assertTrue(
                n.err().get(0).startsWith("ssm-spark nll: out of memory (")
                        && n.err().get(0).contains("Lower --window")
                        && n.err().get(0).contains("SSM_SPARK_JAVA_OPTS"),
                n.errText());

        SsmSparkProcess.Output s = SsmSparkProcess.run(
                dir,
                Map.of("SSM_SPARK_JAVA_OPTS", "-Xmx1g -Dorg.bytedeco.javacpp.maxPhysicalBytes=1200m"),
                240,
                "score",
                "--model",
                wideModel.toString(),
                "--input",
                input.toString(),
                "--input-format",
                "tokens-i32",
                "--output",
                "scores",
                "--segment-length",
                "65536",
                "--master",
                "local[2]",
                "--conf",
                NO_UI,
                "--conf",
                "spark.stage.maxConsecutiveAttempts=1");
        assertEquals(3, s.code(), s.errText());
        List<String> notProgress = s.err().stream()
                .filter(l -> !l.contains(" INFO  SequenceParallelScorer: "))
                .toList();
        assertEquals(1, notProgress.size(), s.errText());
        assertTrue(
                notProgress.get(0).startsWith("ssm-spark score: out of memory (")
                        && notProgress.get(0).contains("Lower --segment-length")
                        && notProgress.get(0).contains("spark.executor.memory"),
                s.errText());
        assertFalse(Files.exists(dir.resolve("scores")));
    }
}
