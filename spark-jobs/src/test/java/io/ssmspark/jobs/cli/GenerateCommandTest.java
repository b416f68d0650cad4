package io.ssmspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.data.Vocabulary;
import io.ssmspark.model.checkpoint.Checkpoint;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
import io.ssmspark.model.testing.TinyModels;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class GenerateCommandTest {
    @TempDir
    Path dir;

    /**
     * A hybrid (layer 1 sliding-window attention, window 3, GQA, rotary; ngroups 2; MLP) with random parameters,
     * saved as F32; returns the parameters as the file holds them, in fp64.
     */
    private static INDArray saveModel(Path modelDir, MambaConfig config, long seed) throws IOException {
        INDArray flat = ModelInit.initialize(config, seed, DataType.DOUBLE);
        Random rnd = new Random(seed + 1);
        double[] noise = new double[(int) flat.length()];
        for (int i = 0; i < noise.length; i++) {
            noise[i] = 0.3 * rnd.nextGaussian();
        }
        flat.addi(Nd4j.createFromArray(noise));
        Checkpoint.save(modelDir, config, flat.castTo(DataType.FLOAT));
        return flat.castTo(DataType.FLOAT).castTo(DataType.DOUBLE);
    }

    private static MambaConfig config(int vocab) {
        return TinyModels.hybrid(3).toBuilder().vocabSize(vocab).build();
    }

    /** Greedy decoding the slow way: a full forward over the whole sequence for every new token. */
    private static List<Integer> greedyByFullForward(MambaConfig c, INDArray params, int[] prompt, int maxNew) {
        HybridLm lm = new HybridLm(c, params);
        List<Integer> seq = new ArrayList<>();
        for (int id : prompt) {
            seq.add(id);
        }
        List<Integer> generated = new ArrayList<>();
        for (int i = 0; i < maxNew; i++) {
            int[][] tokens = {seq.stream().mapToInt(Integer::intValue).toArray()};
            INDArray logits = lm.forward(tokens).logits();
            double[] last = logits.getRow(logits.rows() - 1).toDoubleVector();
            int best = 0;
            for (int v = 1; v < c.vocabSize(); v++) {
                if (last[v] > last[best]) {
                    best = v;
                }
            }
            generated.add(best);
            seq.add(best);
        }
        return generated;
    }

    private static String generatedLine(CliRun r) {
        return r.out()
                .lines()
                .filter(l -> l.startsWith("generated: "))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no 'generated:' line in " + r.out()))
                .substring("generated: ".length());
    }

    @Test
    void greedyEqualsTheArgmaxOfTheFullForwardAtEveryStep() throws IOException {
        MambaConfig c = config(13);
        Path modelDir = dir.resolve("model");
        INDArray params = saveModel(modelDir, c, 3);
        for (int[] prompt : new int[][] {{5}, {1, 2, 3, 4, 5, 6, 7}}) {
            CliRun r = CliRun.of(
                    "generate",
                    "--model",
                    modelDir.toString(),
                    "--prompt-tokens",
                    String.join(
                            ",",
                            Arrays.stream(prompt).mapToObj(Integer::toString).toArray(String[]::new)),
                    "--max-new",
                    "8",
                    "--dtype",
                    "float64");
            assertEquals(0, r.code(), r.err());
            List<Integer> expected = greedyByFullForward(c, params, prompt, 8);
            assertEquals(
                    expected.stream()
                            .map(String::valueOf)
                            .reduce((a, b) -> a + "," + b)
                            .orElseThrow(),
                    generatedLine(r));
            assertTrue(!r.out().contains("text: "), "no vocab.json, no text");
        }
    }

    @Test
    void sampledTokensAreReproducibleBySeed() throws IOException {
        Path modelDir = dir.resolve("model");
        saveModel(modelDir, config(13), 4);
        String[] base = {
            "generate",
            "--model",
            modelDir.toString(),
            "--prompt-tokens",
            "3,1,4",
            "--max-new",
            "24",
            "--temperature",
            "1.5"
        };
        String first = generatedLine(CliRun.of(concat(base, "--seed", "11")));
        String again = generatedLine(CliRun.of(concat(base, "--seed", "11")));
        String other = generatedLine(CliRun.of(concat(base, "--seed", "12")));
        assertEquals(first, again);
        assertNotEquals(first, other);
        assertEquals(24, first.split(",").length);
        for (String id : first.split(",")) {
            int v = Integer.parseInt(id);
            assertTrue(v >= 0 && v < 13, "sampled id " + v + " inside the real vocabulary (not the padding)");
        }
        // top-k 1 leaves only the argmax: sampling then equals greedy whatever the temperature
        String topOne = generatedLine(CliRun.of(concat(base, "--seed", "5", "--top-k", "1")));
        String greedy = generatedLine(
                CliRun.of("generate", "--model", modelDir.toString(), "--prompt-tokens", "3,1,4", "--max-new", "24"));
        assertEquals(greedy, topOne);
    }

    @Test
    void aByteVocabularyAlsoPrintsTheText() throws IOException {
        MambaConfig c = config(257);
        Path modelDir = dir.resolve("bytes");
        INDArray params = saveModel(modelDir, c, 5);
        Files.writeString(
                modelDir.resolve(Vocabulary.FILE_NAME), Vocabulary.bytes().toJson());
        int[] prompt = {72, 105};
        CliRun r = CliRun.of(
                "generate",
                "--model",
                modelDir.toString(),
                "--prompt-tokens",
                "72,105",
                "--max-new",
                "6",
                "--dtype",
                "float64");
        assertEquals(0, r.code(), r.err());
        int[] ids = greedyByFullForward(c, params, prompt, 6).stream()
                .mapToInt(Integer::intValue)
                .toArray();
        StringBuilder expected = new StringBuilder();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            if (id == 256) {
                expected.append(bytes.toString(StandardCharsets.UTF_8)).append("<sep>");
                bytes.reset();
            } else {
                bytes.write(id);
            }
        }
        expected.append(bytes.toString(StandardCharsets.UTF_8));
        assertTrue(r.out().contains("text: " + expected + System.lineSeparator()), r.out());
        assertEquals("a<sep>é", GenerateCommand.byteText(new int[] {97, 256, 0xC3, 0xA9}, Vocabulary.bytes()));
    }

    /** Exit code 2 and one line on stderr naming the problem. */
    private static void assertUserError(String expectedPart, String... args) {
        CliRun r = CliRun.of(args);
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains(expectedPart), "expected '" + expectedPart + "' in: " + r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line, no stack trace: " + r.err());
    }

    @Test
    void badPromptsAndOptionsAreRefusedByName() throws IOException {
        Path modelDir = dir.resolve("model");
        saveModel(modelDir, config(13), 6);
        String m = modelDir.toString();
        assertUserError(
                "--prompt-tokens: item 2 = 13 is outside the model's vocabulary [0, vocab_size = 13)",
                "generate",
                "--model",
                m,
                "--prompt-tokens",
                "1,2,13",
                "--max-new",
                "2");
        assertUserError(
                "--prompt-tokens: item 0 = -1 is outside",
                "generate",
                "--model",
                m,
                "--prompt-tokens",
                "-1",
                "--max-new",
                "2");
        assertUserError(
                "--prompt-tokens: item 1 'x' is not an integer token id",
                "generate",
                "--model",
                m,
                "--prompt-tokens",
                "1,x",
                "--max-new",
                "2");
        assertUserError(
                "--prompt-tokens: item 1 '' is not an integer token id",
                "generate",
                "--model",
                m,
                "--prompt-tokens",
                "1,",
                "--max-new",
                "2");
        assertUserError(
                "--prompt-tokens: expected a comma-separated list of token ids but found an empty value",
                "generate",
                "--model",
                m,
                "--prompt-tokens",
                "",
                "--max-new",
                "2");
        assertUserError(
                "--max-new: expected at least 1 token but found 0",
                "generate",
                "--model",
                m,
                "--prompt-tokens",
                "1",
                "--max-new",
                "0");
        assertUserError(
                "temperature: expected a finite value >= 0 but found -1.0",
                "generate",
                "--model",
                m,
                "--prompt-tokens",
                "1",
                "--max-new",
                "2",
                "--temperature",
                "-1");
        assertUserError(
                "top-k: expected 0 (all tokens) or a positive count but found -3",
                "generate",
                "--model",
                m,
                "--prompt-tokens",
                "1",
                "--max-new",
                "2",
                "--top-k",
                "-3");
        assertUserError(
                "nowhere: checkpoint directory not found",
                "generate",
                "--model",
                dir.resolve("nowhere").toString(),
                "--prompt-tokens",
                "1",
                "--max-new",
                "2");
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
