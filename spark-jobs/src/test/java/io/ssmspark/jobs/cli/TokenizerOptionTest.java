package io.ssmspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.data.TextTokenizer;
import io.ssmspark.data.TokenizerFixture;
import io.ssmspark.jobs.spark.SparkSessions;
import io.ssmspark.model.checkpoint.Checkpoint;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
import io.ssmspark.model.testing.TinyModels;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
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

/** {@code --tokenizer} on score, nll and generate: text encoded by the fixture tokenizer, decoded text printed. */
class TokenizerOptionTest {
    private static final String[] TEST_CONF = {
        "spark.kryo.registrationRequired", "true", "spark.ui.enabled", "false",
        "spark.local.dir", "target/spark-local", "spark.sql.shuffle.partitions", "4"
    };
    private static final String TEXT = "the cat sat and the cat sat on the mat in the end";

    @TempDir
    Path dir;

    private MambaConfig config;
    private INDArray parameters;
    private Path modelDir;
    private Path tokenizerFile;
    private TextTokenizer tokenizer;

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
    void setUp() throws IOException {
        config = TinyModels.mamba2Stack().toBuilder()
                .vocabSize(TokenizerFixture.vocabSize())
                .build();
        parameters = params(config);
        modelDir = dir.resolve("model");
        Checkpoint.save(modelDir, config, parameters.castTo(DataType.FLOAT));
        tokenizerFile = TokenizerFixture.write(dir.resolve("tok"));
        tokenizer = TextTokenizer.load(tokenizerFile);
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

    @Test
    void nllOfTextIsTheNllOfItsTokens() throws IOException {
        Path text = Files.writeString(dir.resolve("a.txt"), TEXT, StandardCharsets.UTF_8);
        int[] ids = tokenizer.encode(TEXT);
        assertTrue(ids.length < TEXT.length(), "the merges shorten the text: " + ids.length);
        Path csv = dir.resolve("nll.csv");
        CliRun r = CliRun.of(
                "nll",
                "--model",
                modelDir.toString(),
                "--text",
                text.toString(),
                "--tokenizer",
                dir.resolve("tok").toString(),
                "--out",
                csv.toString(),
                "--dtype",
                "float64");
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(csv);
        double[] expected = expectedNll(ids);
        assertEquals(ids.length, lines.size()); // header + positions 1..n-1
        for (int i = 1; i < lines.size(); i++) {
            assertEquals(expected[i - 1], Double.parseDouble(lines.get(i).split(",")[1]), 1e-12);
        }
        assertTrue(r.out().contains("positions: " + (ids.length - 1)), r.out());
    }

    @Test
    void scoreTokenizesTextOnTheExecutorsAndAddsTokenText() throws IOException {
        Path in = Files.createDirectories(dir.resolve("in"));
        Files.writeString(in.resolve("a.txt"), TEXT + "\nGrüße and the cat\n", StandardCharsets.UTF_8);
        Path out = dir.resolve("out");
        CliRun r = CliRun.of(
                "score",
                "--model",
                modelDir.toString(),
                "--input",
                in.toString(),
                "--input-format",
                "text",
                "--text-mode",
                "line",
                "--tokenizer",
                tokenizerFile.toString(),
                "--token-text",
                "--output",
                out.toString(),
                "--segment-length",
                "4",
                "--master",
                "local[2]");
        assertEquals(0, r.code(), r.err());
        Map<Long, int[]> lines = Map.of(0L, tokenizer.encode(TEXT), 1L, tokenizer.encode("Grüße and the cat"));
        SparkSession spark =
                SparkSessions.builder("read-back").master("local[1]").forTests().build();
        try {
            List<Row> rows =
                    spark.read().parquet(out.resolve("tokens").toString()).collectAsList();
            assertEquals(lines.get(0L).length - 1 + lines.get(1L).length - 1, rows.size());
            Map<String, int[]> seen = new HashMap<>();
            for (Row row : rows) {
                String id = row.getString(row.fieldIndex("sequence_id"));
                int[] ids = id.endsWith("@0") ? lines.get(0L) : lines.get(1L);
                int position = (int) row.getLong(row.fieldIndex("position"));
                int token = row.getInt(row.fieldIndex("token"));
                assertEquals(ids[position], token, id + "@" + position);
                assertEquals(tokenizer.tokenText(token), row.getString(row.fieldIndex("token_text")));
                seen.computeIfAbsent(id, k -> new int[ids.length])[position] = 1;
            }
            assertEquals(2, seen.size());
            double[] expected = expectedNll(lines.get(0L));
            for (Row row : rows) {
                if (row.getString(0).endsWith("@0")) {
                    int position = (int) row.getLong(1);
                    assertEquals(expected[position - 1], row.getDouble(row.fieldIndex("nll")), 2e-4);
                }
            }
        } finally {
            spark.stop();
        }
    }

    @Test
    void generatePrintsDecodedText() {
        CliRun r = CliRun.of(
                "generate",
                "--model",
                modelDir.toString(),
                "--prompt",
                "the cat",
                "--tokenizer",
                tokenizerFile.toString(),
                "--max-new",
                "6");
        assertEquals(0, r.code(), r.err());
        String generated = r.out()
                .lines()
                .filter(l -> l.startsWith("generated: "))
                .findFirst()
                .orElseThrow()
                .substring("generated: ".length());
        int[] ids =
                Arrays.stream(generated.split(",")).mapToInt(Integer::parseInt).toArray();
        assertEquals(6, ids.length);
        assertTrue(r.out().contains("text: " + tokenizer.decode(ids)), r.out());
        // the same as giving the prompt's ids
        CliRun same = CliRun.of(
                "generate",
                "--model",
                modelDir.toString(),
                "--prompt-tokens",
                String.join(
                        ",",
                        IntStream.of(tokenizer.encode("the cat"))
                                .mapToObj(Integer::toString)
                                .toList()),
                "--max-new",
                "6");
        assertTrue(same.out().contains("generated: " + generated), same.out());
    }

    @Test
    void aTokenizerLargerThanTheModelIsRefusedNamingBoth() throws IOException {
        Path small = dir.resolve("small");
        MambaConfig c = TinyModels.mamba2Stack().toBuilder().vocabSize(260).build();
        Checkpoint.save(small, c, params(c).castTo(DataType.FLOAT));
        Path text = Files.writeString(dir.resolve("a.txt"), TEXT, StandardCharsets.UTF_8);
        String[][] runs = {
            {
                "nll",
                "--model",
                small.toString(),
                "--text",
                text.toString(),
                "--tokenizer",
                tokenizerFile.toString(),
                "--out",
                dir.resolve("x.csv").toString()
            },
            {
                "generate",
                "--model",
                small.toString(),
                "--prompt",
                "the",
                "--tokenizer",
                tokenizerFile.toString(),
                "--max-new",
                "1"
            },
            {
                "score",
                "--model",
                small.toString(),
                "--input",
                text.toString(),
                "--input-format",
                "text",
                "--tokenizer",
                tokenizerFile.toString(),
                "--output",
                dir.resolve("o").toString(),
                "--master",
                "local[1]"
            },
        };
        for (String[] args : runs) {
            CliRun r = CliRun.of(args);
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains("vocabulary of " + TokenizerFixture.vocabSize() + " ids"), r.err());
            assertTrue(r.err().contains("vocab_size is 260"), r.err());
            assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        }
    }

    /** A model directory holding its tokenizer.json (as a trained checkpoint or an HF directory does) needs no flag. */
    @Test
    void theModelDirectorysOwnTokenizerIsUsedWithoutTheOption() throws IOException {
        Path text = Files.writeString(dir.resolve("own.txt"), TEXT, StandardCharsets.UTF_8);
        CliRun bare = CliRun.of(
                "nll",
                "--model",
                modelDir.toString(),
                "--text",
                text.toString(),
                "--out",
                dir.resolve("x.csv").toString());
        assertEquals(2, bare.code(), bare.err());
        assertTrue(
                bare.err()
                        .contains("--text: needs --tokenizer (the model directory " + modelDir
                                + " has no tokenizer.json)"),
                bare.err());

        Files.copy(tokenizerFile, modelDir.resolve(TextTokenizer.FILE_NAME));
        Path withOption = dir.resolve("with-option.csv");
        Path withoutOption = dir.resolve("without-option.csv");
        CliRun a = CliRun.of(
                "nll",
                "--model",
                modelDir.toString(),
                "--text",
                text.toString(),
                "--tokenizer",
                tokenizerFile.toString(),
                "--out",
                withOption.toString());
        CliRun b = CliRun.of(
                "nll", "--model", modelDir.toString(), "--text", text.toString(), "--out", withoutOption.toString());
        assertEquals(0, a.code(), a.err());
        assertEquals(0, b.code(), b.err());
        assertEquals(Files.readAllLines(withOption), Files.readAllLines(withoutOption));
        assertEquals(
                tokenizer.encode(TEXT).length, Files.readAllLines(withoutOption).size());

        CliRun generated =
                CliRun.of("generate", "--model", modelDir.toString(), "--prompt", "the cat", "--max-new", "4");
        assertEquals(0, generated.code(), generated.err());
        assertTrue(generated.out().contains("text: "), generated.out());
        Path in = Files.createDirectories(dir.resolve("own-in"));
        Files.writeString(in.resolve("a.txt"), TEXT, StandardCharsets.UTF_8);
        Path out = dir.resolve("own-scores");
        CliRun scored = CliRun.of(
                "score",
                "--model",
                modelDir.toString(),
                "--input",
                in.toString(),
                "--input-format",
                "text",
                "--token-text",
                "--format",
                "csv",
                "--output",
                out.toString(),
                "--segment-length",
                "4",
                "--master",
                "local[2]");
        assertEquals(0, scored.code(), scored.err());
        List<String> rows = new ArrayList<>();
        try (var parts = Files.list(out.resolve("tokens"))) {
            for (Path part :
                    parts.filter(f -> f.toString().endsWith(".csv")).sorted().toList()) {
                List<String> lines = Files.readAllLines(part);
                assertTrue(lines.isEmpty() || lines.get(0).contains("token_text"), lines.toString());
                rows.addAll(lines.isEmpty() ? List.of() : lines.subList(1, lines.size()));
            }
        }
        assertEquals(tokenizer.encode(TEXT).length - 1, rows.size(), "one row per token the model's tokenizer gives");
        Files.delete(modelDir.resolve(TextTokenizer.FILE_NAME));
    }
}
