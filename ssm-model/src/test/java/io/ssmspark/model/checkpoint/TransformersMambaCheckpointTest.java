package io.ssmspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.checkpoint.hf.HfMamba2Names;
import io.ssmspark.model.config.MalformedConfigException;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.lm.HybridLm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * transformers' MambaForCausalLM (Mamba-1) layout, and mamba_ssm's own Mamba-1 save_pretrained, load into the model
 * the original ssm-spark parameters give: same parameters, same logits, bit for bit.
 */
class TransformersMambaCheckpointTest {
    @TempDir
    Path dir;

    /** 2 Mamba-1 layers (d_state 4, d_conv 4, dt_rank auto = 1), RMSNorm, vocab 13 padded to 16. */
    static MambaConfig original(boolean tied, boolean bias) {
        return MambaConfig.builder()
                .dModel(8)
                .nLayer(2)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .rmsNorm(true)
                .ssm(SsmConfig.mamba1Builder()
                        .dState(4)
                        .dConv(4)
                        .expand(2)
                        .bias(bias)
                        .build())
                .tieEmbeddings(tied)
                .build();
    }

    /** The original model's logits (ids below 13, valid in every layout). */
    static float[] originalLogits(MambaConfig c, Map<String, INDArray> w, DataType type) {
        HybridLm lm = new HybridLm(c, CheckpointFixtures.flat(c, w, type));
        return lm.forward(MambaSsmBinCheckpointTest.tokens(5, c.vocabSize()))
                .logits()
                .castTo(DataType.FLOAT)
                .dup('c')
                .data()
                .asFloat();
    }

    private static void assertLogitsOfTheOriginal(MambaConfig c, Map<String, INDArray> w, LoadedCheckpoint loaded) {
        for (DataType type : List.of(DataType.FLOAT, DataType.DOUBLE)) {
            assertArrayEquals(
                    CheckpointFixtures.flat(c, w, type).toDoubleVector(),
                    loaded.flatParameters(type).toDoubleVector(),
                    0.0,
                    type + " parameters");
            float[] expected = originalLogits(c, w, type);
            assertEquals(2 * 11 * 16, expected.length);
            assertArrayEquals(
                    expected, MambaSsmBinCheckpointTest.logits(loaded, type, c.vocabSize()), 0f, type + " logits");
        }
    }

    @Test
    void twoBf16ShardsGiveTheLogitsOfTheOriginal() throws IOException {
        MambaConfig c = original(false, false);
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 31);
        Path hf = dir.resolve("hf");
        CheckpointFixtures.writeTransformers(
                hf, CheckpointFixtures.transformersMambaConfigJson(c, Map.of()), c, w, "BF16", 2);

        CheckpointLayout layout = CheckpointLayout.detect(hf);
        assertEquals(CheckpointLayout.Kind.TRANSFORMERS, layout.kind());
        assertEquals("MambaForCausalLM", layout.transformers().architecture());
        assertEquals(hf.resolve(CheckpointLayout.SAFETENSORS_INDEX), layout.indexFile());
        assertEquals(2, layout.weightFiles().size());
        assertEquals("bfloat16", layout.transformers().declaredDtype());

        LoadedCheckpoint loaded = Checkpoint.load(hf, DataType.FLOAT);
        MambaConfig mapped = loaded.config();
        assertEquals(
                c.toBuilder().vocabSize(16).padVocabSizeMultiple(1).build(), mapped, "MambaConfig from config.json");
        assertEquals(mapped, Checkpoint.readConfig(hf));
        assertTrue(mapped.ssm().isMamba1());
        assertLogitsOfTheOriginal(c, w, loaded);
    }

    /**
     * in/out_proj biases (use_bias), no conv bias, dt_rank 3, layer_norm_epsilon 1e-6, a tied head, transformers 5.x
     * spellings (dtype, no architectures), one F16 model.safetensors.
     */
    @Test
    void biasesRankEpsilonAndFiveDotXSpellings() throws IOException {
        MambaConfig c = original(true, true).toBuilder()
                .normEpsilon(1e-6)
                .ssm(SsmConfig.mamba1Builder()
                        .dState(4)
                        .dConv(3)
                        .expand(2)
                        .dtRank(3)
                        .bias(true)
                        .convBias(false)
                        .build())
                .build();
        Map<String, INDArray> w = CheckpointFixtures.f16ExactWeights(c, 32);
        assertTrue(w.containsKey("backbone.layers.1.mixer.in_proj.bias"));
        assertTrue(!w.containsKey("backbone.layers.1.mixer.conv1d.bias"));
        Map<String, String> v5 = new HashMap<>();
        v5.put("torch_dtype", null);
        v5.put("dtype", "\"float16\"");
        v5.put("architectures", null);
        v5.put("transformers_version", "\"5.0.0\"");
        v5.put("layer_norm_epsilon", "1e-06");
        Path hf = dir.resolve("hf");
        CheckpointFixtures.writeTransformers(hf, CheckpointFixtures.transformersMambaConfigJson(c, v5), c, w, "F16", 1);
        LoadedCheckpoint loaded = Checkpoint.load(hf, DataType.FLOAT);
        assertEquals(c.toBuilder().vocabSize(16).padVocabSizeMultiple(1).build(), loaded.config());
        assertEquals(1e-6, loaded.config().normEpsilon());
        assertEquals(
                "MambaForCausalLM (from model_type \"mamba\")",
                CheckpointLayout.detect(hf).transformers().architecture());
        assertLogitsOfTheOriginal(c, w, loaded);
    }

    /**
     * mamba_ssm's Mamba-1 save_pretrained (state-spaces/mamba-130m's config.json: {@code "ssm_cfg": {}}, so
     * mamba_ssm's Mamba with its defaults) and pytorch_model.bin holding the tied lm_head.weight: it loads, as the
     * original.
     */
    @Test
    void mambaSsmMamba1BinWithAnEmptySsmCfgLoads() throws IOException {
        MambaConfig c = MambaConfig.builder()
                .dModel(8)
                .nLayer(2)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .rmsNorm(true)
                .ssm(SsmConfig.mamba1Builder().build())
                .tieEmbeddings(true)
                .build();
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 33);
        Path bin = dir.resolve("mamba_ssm");
        CheckpointFixtures.writeMambaSsmBin(bin, c, w, "F32");
        Files.writeString(
                bin.resolve(Checkpoint.CONFIG_FILE),
                "{\"d_model\": 8, \"n_layer\": 2, \"vocab_size\": 13, \"ssm_cfg\": {}, \"rms_norm\": true,"
                        + " \"residual_in_fp32\": true, \"fused_add_norm\": true, \"pad_vocab_size_multiple\": 8}");
        CheckpointLayout layout = CheckpointLayout.detect(bin);
        assertEquals(CheckpointLayout.Kind.MAMBA_SSM_BIN, layout.kind());
        LoadedCheckpoint loaded = Checkpoint.load(bin, DataType.FLOAT);
        assertEquals(c, loaded.config());
        assertEquals(16, loaded.config().ssm().dState());
        assertTrue(CheckpointInspection.of(bin).ignored().get(0).startsWith("lm_head.weight in pytorch_model.bin"));
        assertLogitsOfTheOriginal(c, w, loaded);
    }

    @Test
    void inspectReportsIt() throws IOException {
        MambaConfig c = original(false, false);
        Path hf = dir.resolve("hf");
        CheckpointFixtures.writeTransformers(
                hf,
                CheckpointFixtures.transformersMambaConfigJson(c, Map.of()),
                c,
                CheckpointFixtures.bf16ExactWeights(c, 34),
                "BF16",
                2);
        List<String> lines = CheckpointInspection.of(hf).lines();
        assertEquals(
                "layout: Hugging Face transformers, MambaForCausalLM (written by transformers 4.39.0.dev0)",
                lines.get(1));
        assertTrue(lines.contains("weights: model.safetensors.index.json, 2 shards"), lines.toString());
        assertTrue(lines.contains("layers: 2 (2 Mamba1), pattern MM; no MLP"), lines.toString());
        assertTrue(
                lines.contains("  Mamba1: d_model 8, d_inner 16, d_state 4, d_conv 4, dt_rank 1, in/out_proj bias no,"
                        + " conv1d bias yes"),
                lines.toString());
        assertTrue(lines.contains("stored dtypes: BF16 (23 tensors); config.json declares bfloat16"), lines.toString());
        assertTrue(lines.contains("vocabulary: 16, not padded (embedding and logits have 16 rows)"), lines.toString());
        assertTrue(lines.contains("refused: none; the checkpoint loads"), lines.toString());
    }

    /** Config values and architectures ssm-spark would not compute as transformers does are refused by name. */
    @Test
    void unsupportedConfigValuesAreRefusedByField() throws IOException {
        MambaConfig c = original(false, false);
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 35);
        String only = "only Mamba2ForCausalLM (model_type \"mamba2\"), MambaForCausalLM (model_type \"mamba\") and"
                + " BambaForCausalLM (model_type \"bamba\") are read from a transformers config";
        String falcon = " (Falcon-Mamba's mixer RMS-normalises B, C and dt inside every layer (transformers"
                + " models/falcon_mamba/modeling_falcon_mamba.py, rms_forward with mixer_rms_eps), which ssm-spark's"
                + " Mamba1 mixer does not compute)";
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put(
                "\"architectures\": [\"FalconMambaForCausalLM\"]",
                "field 'architectures' = [\"FalconMambaForCausalLM\"] is not supported; " + only + falcon);
        cases.put(
                "\"model_type\": \"falcon_mamba\"",
                "field 'model_type' = \"falcon_mamba\" is not supported; " + only + falcon);
        cases.put(
                "\"mixer_rms_eps\": 1e-06",
                "unknown field 'mixer_rms_eps': it is a field of Falcon-Mamba (FalconMambaConfig), whose mixer"
                        + " RMS-normalises B, C and dt, which ssm-spark's Mamba1 mixer does not compute");
        cases.put(
                "\"model_type\": \"mamba2\"",
                "field 'model_type' = \"mamba2\" contradicts architectures = [\"MambaForCausalLM\"]"
                        + " (MambaForCausalLM has model_type \"mamba\")");
        cases.put(
                "\"intermediate_size\": 24",
                "field 'intermediate_size' = 24 but expand * hidden_size = 2 * 8 = 16; they must be equal"
                        + " (ssm-spark's d_inner is expand * d_model)");
        cases.put(
                "\"hidden_act\": \"gelu\"",
                "field 'hidden_act' = \"gelu\" is not supported; only \"silu\" (or \"swish\", the same function) is"
                        + " supported");
        cases.put(
                "\"conv_kernel\": 1",
                "field 'conv_kernel' = 1 is not supported; ssm-spark's causal conv needs a kernel of at least 2");
        cases.put("\"time_step_rank\": 0", "field 'time_step_rank' must be \"auto\" or an integer >= 1, found 0");
        cases.put(
                "\"layer_types\": [\"mamba\", \"mamba\"]",
                "unknown field 'layer_types': it is not a field of transformers' MambaConfig, and ssm-spark does"
                        + " not guess what it means");
        for (Map.Entry<String, String> e : cases.entrySet()) {
            String[] kv = e.getKey().split(": ", 2);
            Path hf = dir.resolve("case" + Math.abs(e.getKey().hashCode()));
            CheckpointFixtures.writeTransformers(
                    hf,
                    CheckpointFixtures.transformersMambaConfigJson(c, Map.of(kv[0].replace("\"", ""), kv[1])),
                    c,
                    w,
                    "BF16",
                    1);
            MalformedConfigException x =
                    assertThrows(MalformedConfigException.class, () -> Checkpoint.load(hf, DataType.FLOAT), e.getKey());
            assertEquals(hf.resolve(Checkpoint.CONFIG_FILE) + ": " + e.getValue(), x.getMessage());
        }
    }

    /** A Mamba-1 tensor of the wrong shape, or a missing one, is named with both shapes. */
    @Test
    void aWrongShapeIsNamed() throws IOException {
        MambaConfig c = original(false, false);
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 36);
        Path hf = dir.resolve("hf");
        Map<String, INDArray> stored = new LinkedHashMap<>();
        w.forEach((k, v) -> stored.put(HfMamba2Names.toTransformers(k), v));
        stored.put(
                "backbone.layers.0.mixer.x_proj.weight",
                w.get("backbone.layers.0.mixer.x_proj.weight").reshape(1, 9 * 16));
        Files.createDirectories(hf);
        Files.writeString(
                hf.resolve(Checkpoint.CONFIG_FILE), CheckpointFixtures.transformersMambaConfigJson(c, Map.of()));
        CheckpointFixtures.writeSafetensors(hf.resolve(Checkpoint.MODEL_FILE), stored, "BF16");
        SafeTensorsFormatException e =
                assertThrows(SafeTensorsFormatException.class, () -> Checkpoint.load(hf, DataType.FLOAT));
        assertEquals(
                hf.resolve(Checkpoint.MODEL_FILE) + ": tensor 'backbone.layers.0.mixer.x_proj.weight' has shape"
                        + " [1, 144] but the config expects [9, 16]",
                e.getMessage());
    }
}
