package io.ssmspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MalformedConfigException;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.io.IOException;
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
 * transformers' BambaForCausalLM layout (Mamba2 + attention, SwiGLU MLP in every layer; q/k/v_proj and
 * up/gate_proj stored apart) loads into the hybrid model the original ssm-spark parameters give: same parameters,
 * same logits, bit for bit.
 */
class TransformersBambaCheckpointTest {
    @TempDir
    Path dir;

    /**
     * 3 layers, layer 1 attention (2 query heads on 1 kv head of head_dim 4 = d_model / heads, rotary on 2 = half
     * the dims, base 10000, no biases), GatedMLP of width 128 in every layer, Mamba2 with one group, untied, vocab 13 → 16.
     */
    static MambaConfig original(int heads, int kvHeads) {
        return MambaConfig.builder()
                .dModel(8)
                .nLayer(3)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .dIntermediate(128)
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
                        .numHeads(heads)
                        .numHeadsKv(kvHeads)
                        .headDim(4)
                        .rotaryEmbDim(2)
                        .rotaryEmbBase(10000.0)
                        .qkvProjBias(false)
                        .outProjBias(false)
                        .build())
                .tieEmbeddings(false)
                .build();
    }

    private static void assertLogitsOfTheOriginal(MambaConfig c, Map<String, INDArray> w, LoadedCheckpoint loaded) {
        for (DataType type : List.of(DataType.FLOAT, DataType.DOUBLE)) {
            assertArrayEquals(
                    CheckpointFixtures.flat(c, w, type).toDoubleVector(),
                    loaded.flatParameters(type).toDoubleVector(),
                    0.0,
                    type + " parameters");
            float[] expected = TransformersMambaCheckpointTest.originalLogits(c, w, type);
            assertEquals(2 * 11 * 16, expected.length);
            assertArrayEquals(
                    expected, MambaSsmBinCheckpointTest.logits(loaded, type, c.vocabSize()), 0f, type + " logits");
        }
    }

    @Test
    void twoBf16ShardsGiveTheLogitsOfTheOriginal() throws IOException {
        MambaConfig c = original(2, 1);
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 71);
        Path hf = dir.resolve("hf");
        CheckpointFixtures.writeTransformersBamba(hf, c, w, "BF16", 2, Map.of());
        CheckpointLayout layout = CheckpointLayout.detect(hf);
        assertEquals("BambaForCausalLM", layout.transformers().architecture());
        LoadedCheckpoint loaded = Checkpoint.load(hf, DataType.FLOAT);
        assertEquals(c.toBuilder().vocabSize(16).padVocabSizeMultiple(1).build(), loaded.config());
        assertLogitsOfTheOriginal(c, w, loaded);

        List<String> lines = CheckpointInspection.of(hf).lines();
        assertTrue(
                lines.contains(
                        "layers: 3 (2 Mamba2, 1 MHA), pattern MAM; each layer has a GatedMLP of hidden width 128"),
                lines.toString());
        assertTrue(lines.contains("refused: none; the checkpoint loads"), lines.toString());
    }

    /** transformers 5.x spellings: rope_parameters, layer_types, dtype; GQA with 4 heads on 2, an explicit head_dim. */
    @Test
    void fiveDotXSpellings() throws IOException {
        MambaConfig c = original(4, 2);
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 72);
        Map<String, String> v5 = new HashMap<>();
        v5.put("torch_dtype", null);
        v5.put("dtype", "\"bfloat16\"");
        v5.put("rope_theta", null);
        v5.put("rope_scaling", null);
        v5.put("partial_rotary_factor", null);
        v5.put(
                "rope_parameters",
                "{\"rope_type\": \"default\", \"rope_theta\": 10000.0, \"partial_rotary_factor\": 0.5}");
        v5.put("layer_types", "[\"linear_attention\", \"full_attention\", \"linear_attention\"]");
        v5.put("head_dim", "4");
        v5.put("time_step_limit", "[0.0, {\"__float__\": \"Infinity\"}]");
        Path hf = dir.resolve("hf");
        CheckpointFixtures.writeTransformersBamba(hf, c, w, "F32", 1, v5);
        LoadedCheckpoint loaded = Checkpoint.load(hf, DataType.FLOAT);
        assertEquals(c.toBuilder().vocabSize(16).padVocabSizeMultiple(1).build(), loaded.config());
        assertLogitsOfTheOriginal(c, w, loaded);
    }

    /** A missing part, or a part of the wrong shape, is named with its own transformers name and shape. */
    @Test
    void partsAreNamed() throws IOException {
        MambaConfig c = original(2, 1);
        Map<String, INDArray> w = new LinkedHashMap<>(CheckpointFixtures.bf16ExactWeights(c, 73));
        // a wrong d_intermediate makes up_proj and gate_proj the wrong shape
        Path hf = dir.resolve("hf");
        CheckpointFixtures.writeTransformersBamba(hf, c, w, "BF16", 1, Map.of("num_key_value_heads", "2"));
        SafeTensorsFormatException e =
                assertThrows(SafeTensorsFormatException.class, () -> Checkpoint.load(hf, DataType.FLOAT));
        assertEquals(
                hf.resolve(Checkpoint.MODEL_FILE) + ": tensor 'model.layers.1.self_attn.k_proj.weight' has shape [4, 8]"
                        + " but the config expects [8, 8]",
                e.getMessage());
    }

    @Test
    void unsupportedConfigValuesAreRefusedByField() throws IOException {
        MambaConfig c = original(2, 1);
        Map<String, INDArray> w = CheckpointFixtures.bf16ExactWeights(c, 74);
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put(
                "\"mamba_n_groups\": 2",
                "field 'mamba_n_groups' = 2 is not supported; transformers' Bamba normalises the gated output over"
                        + " all channels, ssm-spark (as mamba_ssm) per group; only 1 gives the same model");
        cases.put(
                "\"rms_norm_eps\": 1e-06",
                "field 'rms_norm_eps' = 1.0E-6 is not supported; transformers also uses it in each Mamba2 mixer's"
                        + " gated RMSNorm, where ssm-spark uses mamba_ssm's fixed 1.0E-5; only 1e-05 is supported");
        cases.put(
                "\"intermediate_size\": 100",
                "field 'intermediate_size' = 100 is not supported; ssm-spark's GatedMLP (as mamba_ssm's) rounds its"
                        + " hidden width up to a multiple of 128; only such a multiple gives the same model");
        cases.put(
                "\"mamba_proj_bias\": true",
                "field 'mamba_proj_bias' = true is not supported; ssm-spark's Mamba2 has no in_proj / out_proj bias");
        cases.put(
                "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}",
                "field 'rope_scaling' = {\"type\":\"linear\",\"factor\":2.0} is not supported; only the default rotary"
                        + " embedding (no scaling) is supported");
        cases.put(
                "\"partial_rotary_factor\": 0.25",
                "field 'partial_rotary_factor' = 0.25 is not supported; transformers' BambaConfig always uses 0.5 (it"
                        + " overrides the field), so only 0.5 is supported");
        cases.put(
                "\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 10000.0, \"partial_rotary_factor\": 1.0}",
                "field 'partial_rotary_factor' = 1.0 is not supported; transformers' BambaConfig always uses 0.5 (it"
                        + " overrides the field), so only 0.5 is supported");
        cases.put(
                "\"time_step_limit\": [0.0, 10.0]",
                "field 'time_step_limit' = [0.0, 10.0] is not supported; only [0.0, Infinity] (no clamping of the"
                        + " time step) is supported");
        cases.put(
                "\"num_experts\": 4",
                "unknown field 'num_experts': it is not a field of transformers' BambaConfig, and ssm-spark does not"
                        + " guess what it means");
        for (Map.Entry<String, String> e : cases.entrySet()) {
            String[] kv = e.getKey().split(": ", 2);
            Path hf = dir.resolve("case" + Math.abs(e.getKey().hashCode()));
            CheckpointFixtures.writeTransformersBamba(hf, c, w, "BF16", 1, Map.of(kv[0].replace("\"", ""), kv[1]));
            MalformedConfigException x =
                    assertThrows(MalformedConfigException.class, () -> Checkpoint.load(hf, DataType.FLOAT), e.getKey());
            assertEquals(hf.resolve(Checkpoint.CONFIG_FILE) + ": " + e.getValue(), x.getMessage());
        }
    }
}
