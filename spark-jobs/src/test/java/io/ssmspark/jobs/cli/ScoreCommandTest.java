package io.ssmspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.model.checkpoint.Checkpoint;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
import io.ssmspark.model.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** {@code ssm-spark score} end to end in local mode: outputs, formats, and one clear error per bad input. */
class ScoreCommandTest {
    private static final String[] TEST_CONF = {
        "spark.kryo.registrationRequired", "true", "spark.ui.enabled", "false",
        "spark.local.dir", "target/spark-local", "spark.sql.shuffle.partitions", "4"
    };

    @TempDir
    Path dir;

    private MambaConfig config;
    private INDArray parameters;
    private Path modelDir;

    @BeforeAll
    static void testConf() {
        for (int i = 0; i < TEST_CONF.length; i += 2) {
            System.setProperty(TEST_CONF[i], TEST_CONF[i + 1]);
        }
    }

    @AfterAll
    static void clearConf() {
        for (int i = 0; i < TEST_CONF.length; i += 2) {
            System.clearProperty(TEST_CONF[i]);
        }
    }

    @BeforeEach
    void saveModel() throws IOException {
        config = model(13);
        parameters = params(config);
        modelDir = dir.resolve("model");
        Checkpoint.save(modelDir, config, parameters.castTo(DataType.FLOAT));
    }

    /** Two Mamba2 layers, d_model 8, d_conv 4, chunk 4, GatedMLP. */
    private static MambaConfig model(int vocab) {
        return TinyModels.mamba2Stack().toBuilder().vocabSize(vocab).build();
    }

    private static INDArray params(MambaConfig c) {
        INDArray flat = ModelInit.initialize(c, 5, DataType.DOUBLE);
        Random rnd = new Random(6);
        double[] noise = new double[(int) flat.length()];
        for (int i = 0; i < noise.length; i++) {
            noise[i] = 0.2 * rnd.nextGaussian();
        }
        return flat.addi(Nd4j.createFromArray(noise)).castTo(DataType.FLOAT).castTo(DataType.DOUBLE);
    }

    private static int[] randomTokens(int n, int vocab, long seed) {
        Random rnd = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = rnd.nextInt(vocab);
        }
        return t;
    }

    private double[] expectedNll(int[] tokens) {
        HybridLm lm = new HybridLm(config, parameters.dup());
        int n = tokens.length;
        return lm.nll(
                        lm.forward(new int[][] {Arrays.copyOfRange(tokens, 0, n - 1)}),
                        new int[][] {Arrays.copyOfRange(tokens, 1, n)},
                        null)
                .perToken()
                .ravel()
                .toDoubleVector();
    }

    /**
     * Two token files (50 and 4 tokens) in segments of 6 on 3 partitions, fp64: every position's NLL equals the
     * whole-sequence forward; top-k and embedding columns agree with the model; the summary has the exact counts.
     */
    @Test
    void parquetOutputEqualsTheWholeSequenceForward() throws IOException {
        int[] a = randomTokens(50, 13, 1);
        int[] b = randomTokens(4, 13, 2);
        Path data = dir.resolve("data");
        CliRun.writeInt32Tokens(data.resolve("a.i32"), a);
        CliRun.writeInt32Tokens(data.resolve("b.i32"), b);
        Path out = dir.resolve("out");
        CliRun r = CliRun.of(
                "score",
                "--model",
                modelDir.toString(),
                "--input",
                data.toString(),
                "--input-format",
                "tokens-i32",
                "--vocab-size",
                "13",
                "--output",
                out.toString(),
                "--segment-length",
                "6",
                "--partitions",
                "3",
                "--master",
                "local[2]",
                "--dtype",
                "float64",
                "--top-k",
                "3",
                "--with-embeddings");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("sequences: 2, segments: 10, scored positions: 52"), r.out());

        Map<String, int[]> inputs = Map.of("a.i32", a, "b.i32", b);
        SparkSession spark =
                SparkSessions.builder("read-back").master("local[1]").forTests().build();
        try {
            List<Row> rows =
                    spark.read().parquet(out.resolve("tokens").toString()).collectAsList();
            assertEquals(49 + 3, rows.size());
            Map<String, double[]> got = new HashMap<>();
            HybridLm lm = new HybridLm(config, parameters.dup());
            for (Row row : rows) {
                String id = row.getString(0);
                String name = id.substring(id.lastIndexOf('/') + 1);
                int[] seq = inputs.get(name);
                int position = (int) row.getLong(1);
                assertEquals(seq[position], row.getInt(2), "token at " + id + "@" + position);
                got.computeIfAbsent(name, k -> new double[seq.length - 1])[position - 1] = row.getDouble(3);
                if (name.equals("a.i32") && position == 20) { // embedding and top-k of one position against the model
                    HybridLm.Forward f = lm.forward(new int[][] {Arrays.copyOfRange(seq, 0, 20)});
                    double[] logits = f.logits().getRow(19).toDoubleVector();
                    Integer[] sorted = new Integer[logits.length];
                    for (int i = 0; i < sorted.length; i++) {
                        sorted[i] = i;
                    }
                    Arrays.sort(sorted, (x, y) -> Double.compare(logits[y], logits[x]));
                    List<Integer> top = row.getList(5);
                    assertEquals(List.of(sorted[0], sorted[1], sorted[2]), top);
                    assertEquals(8, row.getList(4).size());
                }
            }
            double[] ea = expectedNll(a);
            double[] eb = expectedNll(b);
            for (int i = 0; i < ea.length; i++) {
                assertEquals(ea[i], got.get("a.i32")[i], 1e-9, "a position " + (i + 1));
            }
            for (int i = 0; i < eb.length; i++) {
                assertEquals(eb[i], got.get("b.i32")[i], 1e-9, "b position " + (i + 1));
            }
            List<Row> summary = spark.read()
                    .parquet(out.resolve("summary").toString())
                    .orderBy("sequence_id")
                    .collectAsList();
            assertEquals(2, summary.size());
            Row sa = summary.get(0);
            assertEquals(50L, sa.getLong(1));
            assertEquals(49L, sa.getLong(2));
            double mean = Arrays.stream(ea).average().orElseThrow();
            assertEquals(mean, sa.getDouble(3), 1e-9);
            assertEquals(Math.exp(mean), sa.getDouble(4), 1e-9);
            assertEquals(mean / Math.log(2), sa.getDouble(5), 1e-9);
        } finally {
            spark.stop();
        }
    }

    @Test
    void csvHasExactlyTheHeaderAndOneRowPerPosition() throws IOException {
        int[] a = randomTokens(23, 13, 3);
        Path file = CliRun.writeInt32Tokens(dir.resolve("in/a.i32"), a);
        Path out = dir.resolve("csv-out");
        CliRun r = CliRun.of(
                "score",
                "--model",
                modelDir.toString(),
                "--input",
                file.toString(),
                "--input-format",
                "tokens-i32",
                "--vocab-size",
                "13",
                "--output",
                out.toString(),
                "--segment-length",
                "5",
                "--format",
                "csv",
                "--master",
                "local[2]");
        assertEquals(0, r.code(), r.err());
        List<String> lines = new ArrayList<>();
        try (Stream<Path> parts = Files.list(out.resolve("tokens"))) {
            for (Path p : parts.filter(p -> p.getFileName().toString().endsWith(".csv"))
                    .sorted()
                    .toList()) {
                List<String> l = Files.readAllLines(p);
                if (!l.isEmpty()) {
                    assertEquals("sequence_id,position,token,nll", l.get(0), p.toString());
                    lines.addAll(l.subList(1, l.size()));
                }
            }
        }
        assertEquals(22, lines.size());
        double[] expected = expectedNll(a);
        for (String line : lines) {
            String[] cells = line.split(",");
            int position = Integer.parseInt(cells[1]);
            assertEquals(a[position], Integer.parseInt(cells[2]));
            assertEquals(expected[position - 1], Double.parseDouble(cells[3]), 2e-4);
        }
    }

    /** A byte-level text input (257 ids) against a model of vocab_size 200: refused, naming both sizes. */
    @Test
    void refusesAModelWhoseVocabularyIsTooSmallForTheInput() throws IOException {
        MambaConfig small = model(200);
        Path smallDir = dir.resolve("small-model");
        Checkpoint.save(smallDir, small, params(small).castTo(DataType.FLOAT));
        Path text = dir.resolve("t.txt");
        Files.writeString(text, "hello world\n");
        CliRun r = CliRun.of(
                "score",
                "--model",
                smallDir.toString(),
                "--input",
                text.toString(),
                "--input-format",
                "text",
                "--output",
                dir.resolve("o").toString(),
                "--master",
                "local[1]");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("257") && r.err().contains("vocab_size 200"), r.err());
        assertFalse(Files.exists(dir.resolve("o")), "nothing written");
    }

    /** An id outside the vocabulary: one error naming the file and the byte offset of the bad token. */
    @Test
    void refusesAnOutOfRangeTokenNamingFileAndOffset() throws IOException {
        Path file = CliRun.writeInt32Tokens(dir.resolve("bad/x.i32"), 1, 2, 3, 40, 5);
        CliRun r = CliRun.of(
                "score",
                "--model",
                modelDir.toString(),
                "--input",
                file.toString(),
                "--input-format",
                "tokens-i32",
                "--vocab-size",
                "13",
                "--output",
                dir.resolve("o").toString(),
                "--master",
                "local[1]");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("x.i32") && r.err().contains("12"), r.err()); // token 3 starts at byte 12
        assertFalse(Files.exists(dir.resolve("o")), "nothing written");
    }

    @Test
    void refusesAnExistingOutputAndAMissingInput() throws IOException {
        Path file = CliRun.writeInt32Tokens(dir.resolve("ok/x.i32"), 1, 2, 3);
        Files.createDirectories(dir.resolve("exists"));
        CliRun r = CliRun.of(
                "score",
                "--model",
                modelDir.toString(),
                "--input",
                file.toString(),
                "--input-format",
                "tokens-i32",
                "--vocab-size",
                "13",
                "--output",
                dir.resolve("exists").toString(),
                "--master",
                "local[1]");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("exists") && r.err().contains("already exists"), r.err());

        CliRun missing = CliRun.of(
                "score",
                "--model",
                modelDir.toString(),
                "--input",
                dir.resolve("nope").toString(),
                "--input-format",
                "tokens-i32",
                "--vocab-size",
                "13",
                "--output",
                dir.resolve("o2").toString(),
                "--master",
                "local[1]");
        assertEquals(2, missing.code(), missing.err());
        assertTrue(missing.err().contains("nope"), missing.err());

        CliRun csvExtras = CliRun.of(
                "score",
                "--model",
                modelDir.toString(),
                "--input",
                file.toString(),
                "--input-format",
                "tokens-i32",
                "--output",
                dir.resolve("o3").toString(),
                "--format",
                "csv",
                "--top-k",
                "2");
        assertEquals(2, csvExtras.code(), csvExtras.err());
        assertTrue(csvExtras.err().contains("--format csv"), csvExtras.err());
    }

    /** The token rows of a CSV score run without its header, sorted (the parts' order is Spark's). */
    private static List<String> csvRows(Path dir) throws IOException {
        List<String> rows = new ArrayList<>();
        try (Stream<Path> parts = Files.list(dir)) {
            for (Path p : parts.filter(p -> p.getFileName().toString().endsWith(".csv"))
                    .toList()) {
                List<String> l = Files.readAllLines(p);
                rows.addAll(l.isEmpty() ? l : l.subList(1, l.size()));
            }
        }
        rows.sort(null);
        return rows;
    }

    /**
     * A token file with no --vocab-size and no vocab.json takes the model's vocab_size (13): the output equals the
     * run with --vocab-size 13, and an id of 13 is still refused with the file and byte offset.
     */
    @Test
    void tokenFilesTakeTheModelsVocabularyByDefault() throws IOException {
        Path file = CliRun.writeInt32Tokens(dir.resolve("in/a.i32"), randomTokens(31, 13, 7));
        CliRun given = CliRun.of(
                "score",
                "--model",
                modelDir.toString(),
                "--input",
                file.toString(),
                "--input-format",
                "tokens-i32",
                "--vocab-size",
                "13",
                "--output",
                dir.resolve("given").toString(),
                "--segment-length",
                "7",
                "--format",
                "csv",
                "--master",
                "local[2]");
        assertEquals(0, given.code(), given.err());
        CliRun fromModel = CliRun.of(
                "score",
                "--model",
                modelDir.toString(),
                "--input",
                file.toString(),
                "--input-format",
                "tokens-i32",
                "--output",
                dir.resolve("from-model").toString(),
                "--segment-length",
                "7",
                "--format",
                "csv",
                "--master",
                "local[2]");
        assertEquals(0, fromModel.code(), fromModel.err());
        assertEquals(30, csvRows(dir.resolve("given/tokens")).size());
        assertEquals(csvRows(dir.resolve("given/tokens")), csvRows(dir.resolve("from-model/tokens")));

        Path bad = CliRun.writeInt32Tokens(dir.resolve("bad13/b.i32"), 1, 2, 13);
        CliRun r = CliRun.of(
                "score",
                "--model",
                modelDir.toString(),
                "--input",
                bad.toString(),
                "--input-format",
                "tokens-i32",
                "--output",
                dir.resolve("o").toString(),
                "--master",
                "local[1]");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("b.i32") && r.err().contains("8"), r.err()); // the third id starts at byte 8
        assertFalse(Files.exists(dir.resolve("o")), "nothing written");
    }

    /** A negative --vocab-size is named as such, and --top-k may not reach into the padded vocabulary's ids. */
    @Test
    void refusesANegativeVocabSizeAndATopKBeyondTheVocabulary() throws IOException {
        Path file = CliRun.writeInt32Tokens(dir.resolve("ok/x.i32"), 1, 2, 3);
        CliRun negative = CliRun.of(
                "score",
                "--model",
                modelDir.toString(),
                "--input",
                file.toString(),
                "--input-format",
                "tokens-i32",
                "--vocab-size",
                "-3",
                "--output",
                dir.resolve("o").toString(),
                "--master",
                "local[1]");
        assertEquals(2, negative.code(), negative.err());
        assertTrue(
                negative.err().contains("--vocab-size: expected a positive number of token ids but found -3"),
                negative.err());
        CliRun topK = CliRun.of(
                "score",
                "--model",
                modelDir.toString(),
                "--input",
                file.toString(),
                "--input-format",
                "tokens-i32",
                "--top-k",
                "14",
                "--output",
                dir.resolve("o2").toString(),
                "--master",
                "local[1]"); // vocab_size 13, padded to 16
        assertEquals(2, topK.code(), topK.err());
        assertTrue(topK.err().contains("--top-k: expected at most the model's vocab_size 13 but found 14"), topK.err());
    }

    /** score --help prints no picocli warning (an unescaped % in a description made three). */
    @Test
    void helpPrintsNoWarning() {
        CliRun r = CliRun.of("score", "--help");
        assertEquals(0, r.code(), r.err());
        assertFalse((r.out() + r.err()).contains("WARN"), r.out() + r.err());
        assertTrue(r.out().contains("--segment-length"), r.out());
    }
}
