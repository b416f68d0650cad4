package io.ssmspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.checkpoint.Checkpoint;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class NllCommandTest {
    @TempDir
    Path dir;

    private Path modelDir;
    private MambaConfig config;
    private INDArray parameters;

    /**
     * A hybrid model: 3 layers, layer 1 attention (GQA 4 on 2 kv heads, rotary), GatedMLP, ngroups 2, chunk 4,
     * untied head, vocab 13 padded to 16; random parameters saved as a checkpoint.
     */
    @BeforeEach
    void saveModel() throws IOException {
        config = MambaConfig.builder()
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
                        .ngroups(2)
                        .chunkSize(4)
                        .build())
                .attnLayerIdx(List.of(1))
                .attn(AttnConfig.builder()
                        .numHeads(4)
                        .numHeadsKv(2)
                        .headDim(4)
                        .rotaryEmbDim(4)
                        .build())
                .tieEmbeddings(false)
                .build();
        INDArray flat = ModelInit.initialize(config, 5, DataType.DOUBLE);
        Random rnd = new Random(6);
        double[] noise = new double[(int) flat.length()];
        for (int i = 0; i < noise.length; i++) {
            noise[i] = 0.2 * rnd.nextGaussian();
        }
        flat.addi(Nd4j.createFromArray(noise));
        parameters = flat.castTo(DataType.FLOAT).castTo(DataType.DOUBLE); // exactly what the F32 file holds
        modelDir = dir.resolve("model");
        Checkpoint.save(modelDir, config, parameters.castTo(DataType.FLOAT));
    }

    private static int[] randomTokens(int n, int vocab, long seed) {
        Random rnd = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = rnd.nextInt(vocab);
        }
        return t;
    }

    /** The model's own per-token NLL of tokens 1..n−1 in one forward, in fp64. */
    private double[] expectedNll(int[] tokens) {
        HybridLm lm = new HybridLm(config, parameters.dup());
        int n = tokens.length;
        int[][] inputs = {Arrays.copyOfRange(tokens, 0, n - 1)};
        int[][] targets = {Arrays.copyOfRange(tokens, 1, n)};
        return lm.nll(lm.forward(inputs), targets, null).perToken().ravel().toDoubleVector();
    }

    private static double[] csvValues(Path csv, int expectedRows) throws IOException {
        List<String> lines = Files.readAllLines(csv);
        assertEquals("position,nll", lines.get(0));
        assertEquals(expectedRows + 1, lines.size(), "header + one row per position");
        double[] v = new double[expectedRows];
        for (int i = 0; i < expectedRows; i++) {
            String[] cells = lines.get(i + 1).split(",");
            assertEquals(2, cells.length);
            assertEquals(i + 1, Integer.parseInt(cells[0]));
            v[i] = Double.parseDouble(cells[1]);
        }
        return v;
    }

    @Test
    void writesOneRowPerPositionEqualToTheModelsForward() throws IOException {
        int[] tokens = randomTokens(50, 13, 1);
        Path tok = tokenFile("tokens.bin", tokens);
        Path csv = dir.resolve("nll.csv");
        double[] expected = expectedNll(tokens);
        CliRun r = CliRun.of(
                "nll",
                "--model",
                modelDir.toString(),
                "--tokens",
                tok.toString(),
                "--out",
                csv.toString(),
                "--dtype",
                "float64",
                "--window",
                "7");
        assertEquals(0, r.code(), r.err());
        double[] got = csvValues(csv, 49);
        double sum = 0;
        for (int i = 0; i < 49; i++) {
            assertEquals(expected[i], got[i], 1e-12, "position " + (i + 1));
            sum += expected[i];
        }
        double mean = sum / 49;
        assertTrue(r.out().contains("positions: 49"), r.out());
        assertTrue(r.out().contains(String.format(java.util.Locale.ROOT, "mean NLL: %.6f nats/token", mean)), r.out());
        assertTrue(r.out().contains(String.format(java.util.Locale.ROOT, "perplexity: %.6f", Math.exp(mean))), r.out());
    }

    @Test
    void float32DefaultAgreesWithFp64() throws IOException {
        int[] tokens = randomTokens(30, 13, 2);
        Path tok = tokenFile("tokens.bin", tokens);
        Path csv = dir.resolve("nll32.csv");
        CliRun r =
                CliRun.of("nll", "--model", modelDir.toString(), "--tokens", tok.toString(), "--out", csv.toString());
        assertEquals(0, r.code(), r.err());
        double[] expected = expectedNll(tokens);
        double[] got = csvValues(csv, 29);
        for (int i = 0; i < 29; i++) {
            assertEquals(expected[i], got[i], 1e-4, "position " + (i + 1));
        }
    }

    /** Exit code 2, one line on stderr naming what is wrong, no stack trace, no output file. */
    private void assertUserError(String expectedPart, Path csv, String... args) {
        CliRun r = CliRun.of(args);
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().startsWith("ssm-spark nll: "), r.err());
        assertTrue(r.err().contains(expectedPart), "expected '" + expectedPart + "' in: " + r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line, no stack trace: " + r.err());
        assertFalse(Files.exists(csv), "no output file on error");
    }

    private String[] args(Path model, Path tokens, Path csv) {
        return new String[] {"nll", "--model", model.toString(), "--tokens", tokens.toString(), "--out", csv.toString()
        };
    }

    @Test
    void badTokenFilesAreRefusedByName() throws IOException {
        Path csv = dir.resolve("out.csv");
        Path outOfVocab = tokenFile("oov.bin", 1, 2, 3, 4, 5, 13, 6);
        assertUserError(
                outOfVocab + ": token id 13 at byte offset 20 (token 5) is outside the model's vocabulary"
                        + " [0, vocab_size = 13)",
                csv,
                args(modelDir, outOfVocab, csv));
        Path negative = tokenFile("neg.bin", 1, -2);
        assertUserError(negative + ": token id -2 at byte offset 4 (token 1)", csv, args(modelDir, negative, csv));
        Path empty = tokenFile("empty.bin");
        assertUserError(empty + ": token file is empty", csv, args(modelDir, empty, csv));
        Path ragged = dir.resolve("ragged.bin");
        Files.write(ragged, new byte[10]);
        assertUserError(ragged + ": size 10 bytes is not a multiple of 4", csv, args(modelDir, ragged, csv));
        Path single = tokenFile("single.bin", 3);
        assertUserError(single + ": holds 1 token; scoring needs at least 2", csv, args(modelDir, single, csv));
        Path missing = dir.resolve("missing.bin");
        assertUserError(missing + ": token file not found", csv, args(modelDir, missing, csv));
        assertUserError(
                "--dtype: expected float32 or float64 but found 'float16'",
                csv,
                "nll",
                "--model",
                modelDir.toString(),
                "--tokens",
                single.toString(),
                "--out",
                csv.toString(),
                "--dtype",
                "float16");
    }

    @Test
    void badCheckpointsAreRefusedByName() throws IOException {
        Path csv = dir.resolve("out.csv");
        Path tok = tokenFile("tokens.bin", 1, 2, 3);
        Path safetensors = modelDir.resolve("model.safetensors");
        Path configJson = modelDir.resolve("config.json");
        String json = Files.readString(configJson);
        byte[] model = Files.readAllBytes(safetensors);

        assertUserError(
                dir.resolve("nope") + ": checkpoint directory not found", csv, args(dir.resolve("nope"), tok, csv));

        Files.writeString(configJson, json.replaceAll("\"d_model\"\\s*:\\s*8", "\"d_model\": \"eight\""));
        assertUserError("d_model", csv, args(modelDir, tok, csv));
        assertTrue(CliRun.of(args(modelDir, tok, csv)).err().contains(configJson.toString()));

        Files.writeString(configJson, json.replaceAll("\"rms_norm\"\\s*:\\s*true", "\"rms_norm\": false"));
        assertUserError(
                safetensors + ": tensor 'backbone.layers.0.norm.bias' (expected shape [8]) is missing",
                csv,
                args(modelDir, tok, csv));

        Files.writeString(configJson, json.replaceAll("\"vocab_size\"\\s*:\\s*13", "\"vocab_size\": 20"));
        assertUserError(
                safetensors + ": tensor 'backbone.embedding.weight' has shape [16, 8] but the config expects"
                        + " [24, 8]",
                csv,
                args(modelDir, tok, csv));
        Files.writeString(configJson, json);

        Files.write(safetensors, Arrays.copyOf(model, model.length - 100));
        assertUserError(safetensors.toString(), csv, args(modelDir, tok, csv));

        byte[] corrupted = model.clone();
        for (int i = 8; i < 40; i++) {
            corrupted[i] = (byte) '#';
        }
        Files.write(safetensors, corrupted);
        assertUserError(safetensors.toString(), csv, args(modelDir, tok, csv));

        Files.delete(safetensors);
        assertUserError(safetensors + ": checkpoint directory has no model.safetensors", csv, args(modelDir, tok, csv));
    }

    private Path tokenFile(String name, int... ids) throws IOException {
        return CliRun.writeInt32Tokens(dir.resolve(name), ids);
    }
}
