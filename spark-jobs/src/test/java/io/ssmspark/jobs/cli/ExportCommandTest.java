package io.ssmspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.checkpoint.CheckpointFixtures;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@code ssm-spark export}: a mamba_ssm Mamba-1 .bin exported to transformers' layout and back scores the same NLL,
 * byte for byte, through {@code nll}; {@code inspect} reports the transformers directory; a non-empty --out is one
 * error line and exit 2.
 */
class ExportCommandTest {
    @TempDir
    Path dir;

    static MambaConfig mamba1() {
        return MambaConfig.builder()
                .dModel(8)
                .nLayer(2)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .ssm(SsmConfig.mamba1Builder().dState(4).expand(2).build())
                .tieEmbeddings(true)
                .build();
    }

    private String nll(Path model, Path tokens) {
        Path csv = dir.resolve(model.getFileName() + ".csv");
        CliRun r = CliRun.of(
                "nll",
                "--model",
                model.toString(),
                "--tokens",
                tokens.toString(),
                "--out",
                csv.toString(),
                "--window",
                "9");
        assertEquals(0, r.code(), r.err());
        try {
            return Files.readString(csv);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void binToTransformersToMambaSsmScoresTheSame() throws IOException {
        MambaConfig c = mamba1();
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 61);
        Path bin = dir.resolve("bin");
        CheckpointFixtures.writeMambaSsmBin(bin, c, w, "BF16");
        Path hf = dir.resolve("hf");
        CliRun r = CliRun.of("export", "--model", bin.toString(), "--to", "hf", "--out", hf.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("exported " + bin + " (2 layers, "), r.out());
        assertTrue(
                r.out()
                        .trim()
                        .endsWith(" to " + hf + " as transformers MambaForCausalLM (config.json,"
                                + " model.safetensors F32)"),
                r.out());
        Path back = dir.resolve("back");
        r = CliRun.of("export", "--model", hf.toString(), "--to", "mamba_ssm", "--out", back.toString());
        assertEquals(0, r.code(), r.err());

        Random rnd = new Random(9);
        int[] t = new int[40];
        for (int i = 0; i < t.length; i++) {
            t[i] = rnd.nextInt(13);
        }
        Path tokens = CliRun.writeInt32Tokens(dir.resolve("tokens.bin"), t);
        String expected = nll(bin, tokens);
        assertFalse(expected.isBlank());
        assertEquals(expected, nll(hf, tokens));
        assertEquals(expected, nll(back, tokens));

        CliRun inspect = CliRun.of("inspect", hf.toString());
        assertEquals(0, inspect.code(), inspect.err());
        assertTrue(inspect.out().contains("layout: Hugging Face transformers, MambaForCausalLM\n"), inspect.out());
        assertTrue(inspect.out().contains("layers: 2 (2 Mamba1), pattern MM; no MLP\n"), inspect.out());
    }

    @Test
    void aNonEmptyOutIsOneErrorLine() throws IOException {
        MambaConfig c = mamba1();
        Path bin = dir.resolve("bin");
        CheckpointFixtures.writeMambaSsmBin(bin, c, CheckpointFixtures.bf16ExactWeights(c, 62), "F32");
        CliRun r = CliRun.of("export", "--model", bin.toString(), "--to", "hf", "--out", bin.toString());
        assertEquals(2, r.code(), r.err());
        assertEquals("ssm-spark export: " + bin + ": --out exists and is not empty; nothing was written\n", r.err());
        r = CliRun.of(
                "export",
                "--model",
                bin.toString(),
                "--to",
                "pickle",
                "--out",
                dir.resolve("x").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("pickle"), r.err());
        assertFalse(Files.exists(dir.resolve("x")));
    }

    /** A transformers Bamba hybrid (q/k/v and up/gate stored apart) exported to mamba_ssm's layout, and back to Bamba's, scores the same. */
    @Test
    void bambaToMambaSsmScoresTheSame() throws IOException {
        MambaConfig c = MambaConfig.builder()
                .dModel(8)
                .nLayer(3)
                .vocabSize(16)
                .padVocabSizeMultiple(1)
                .dIntermediate(128)
                .ssm(SsmConfig.builder()
                        .dState(4)
                        .expand(2)
                        .headdim(4)
                        .ngroups(1)
                        .chunkSize(4)
                        .build())
                .attnLayerIdx(java.util.List.of(1))
                .attn(io.ssmspark.model.config.AttnConfig.builder()
                        .numHeads(2)
                        .numHeadsKv(1)
                        .headDim(4)
                        .rotaryEmbDim(2)
                        .rotaryEmbBase(10000.0)
                        .qkvProjBias(false)
                        .outProjBias(false)
                        .build())
                .tieEmbeddings(false)
                .build();
        Path bamba = dir.resolve("bamba");
        CheckpointFixtures.writeTransformersBamba(
                bamba, c, CheckpointFixtures.bf16ExactWeights(c, 64), "BF16", 2, Map.of());
        Path ms = dir.resolve("ms");
        CliRun r = CliRun.of("export", "--model", bamba.toString(), "--to", "mamba_ssm", "--out", ms.toString());
        assertEquals(0, r.code(), r.err());
        r = CliRun.of(
                "export",
                "--model",
                bamba.toString(),
                "--to",
                "hf",
                "--out",
                dir.resolve("bamba-again").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("as transformers BambaForCausalLM"), r.out());
        Random rnd = new Random(10);
        int[] t = new int[40];
        for (int i = 0; i < t.length; i++) {
            t[i] = rnd.nextInt(16);
        }
        Path tokens = CliRun.writeInt32Tokens(dir.resolve("tokens16.bin"), t);
        assertEquals(nll(bamba, tokens), nll(ms, tokens));
        assertEquals(nll(bamba, tokens), nll(dir.resolve("bamba-again"), tokens));
    }

    /** Falcon-Mamba is refused by name, with the reason, by inspect as by every load. */
    @Test
    void falconMambaIsRefusedByName() throws IOException {
        MambaConfig c = mamba1().toBuilder().rmsNorm(true).build();
        Path hf = dir.resolve("falcon");
        CheckpointFixtures.writeTransformers(
                hf,
                CheckpointFixtures.transformersMambaConfigJson(
                        c,
                        Map.of(
                                "architectures",
                                "[\"FalconMambaForCausalLM\"]",
                                "model_type",
                                "\"falcon_mamba\"",
                                "mixer_rms_eps",
                                "1e-06")),
                c,
                CheckpointFixtures.bf16ExactWeights(c, 63),
                "BF16",
                1);
        CliRun r = CliRun.of("inspect", hf.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("field 'architectures' = [\"FalconMambaForCausalLM\"] is not supported;"), r.err());
        assertTrue(r.err().contains("RMS-normalises B, C and dt"), r.err());
    }
}
