package io.ssmspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A Mamba1 layer's tensors carry exactly the names and shapes of mamba_ssm's Mamba state_dict
 * (modules/mamba_simple.py: in_proj, conv1d, x_proj, dt_proj, A_log, D, out_proj) under
 * "backbone.layers.{i}.mixer.", with mamba_ssm's weight-decay exemptions.
 */
class Mamba1CheckpointSchemaTest {

    private static List<String> layer(CheckpointSchema schema, int i) {
        String p = "backbone.layers." + i + ".";
        List<String> out = new ArrayList<>();
        for (TensorSpec t : schema.tensors()) {
            if (t.name().startsWith(p)) {
                out.add(t.name().substring(p.length()) + " " + Arrays.toString(t.shape())
                        + (t.weightDecay() ? " decay" : ""));
            }
        }
        return out;
    }

    /** mamba-130m: d_model 768, d_inner 1536, d_state 16, d_conv 4, dt_rank ⌈768/16⌉ = 48, no biases. */
    @Test
    void mamba130mLayerHasMambaSsmsNamesAndShapes() throws Exception {
        MambaConfig c = MambaConfig.fromJson(
                "{\"d_model\": 768, \"n_layer\": 24, \"vocab_size\": 50277,"
                        + " \"ssm_cfg\": {}, \"rms_norm\": true, \"residual_in_fp32\": true, \"fused_add_norm\": true,"
                        + " \"pad_vocab_size_multiple\": 8}",
                "config.json");
        CheckpointSchema schema = CheckpointSchema.of(c);
        assertEquals(
                List.of(
                        "norm.weight [768]",
                        "mixer.in_proj.weight [3072, 768] decay",
                        "mixer.conv1d.weight [1536, 1, 4] decay",
                        "mixer.conv1d.bias [1536]",
                        "mixer.x_proj.weight [80, 1536] decay",
                        "mixer.dt_proj.weight [1536, 48] decay",
                        "mixer.dt_proj.bias [1536]",
                        "mixer.A_log [1536, 16]",
                        "mixer.D [1536]",
                        "mixer.out_proj.weight [768, 1536] decay"),
                layer(schema, 23));
        assertEquals("backbone.embedding.weight", schema.names().get(0));
        assertEquals("backbone.norm_f.weight", schema.names().get(schema.names().size() - 1)); // tied head
        assertEquals(24 * 10 + 2, schema.names().size());
        assertEquals(129_135_360L, schema.totalParameters());
    }

    /** bias = true adds in_proj.bias and out_proj.bias; conv_bias = false drops conv1d.bias; attention is MHA. */
    @Test
    void biasesFollowTheConfigAndAttentionLayersStayMha() {
        MambaConfig c = MambaConfig.builder()
                .dModel(32)
                .nLayer(2)
                .vocabSize(100)
                .ssm(SsmConfig.mamba1Builder()
                        .dState(4)
                        .dConv(3)
                        .dtRank(5)
                        .convBias(false)
                        .bias(true)
                        .build())
                .attnLayerIdx(List.of(1))
                .attn(AttnConfig.builder().numHeads(4).build())
                .build();
        CheckpointSchema schema = CheckpointSchema.of(c);
        assertEquals(
                List.of(
                        "norm.weight [32]",
                        "mixer.in_proj.weight [128, 32] decay",
                        "mixer.in_proj.bias [128]",
                        "mixer.conv1d.weight [64, 1, 3] decay",
                        "mixer.x_proj.weight [13, 64] decay",
                        "mixer.dt_proj.weight [64, 5] decay",
                        "mixer.dt_proj.bias [64]",
                        "mixer.A_log [64, 4]",
                        "mixer.D [64]",
                        "mixer.out_proj.weight [32, 64] decay",
                        "mixer.out_proj.bias [32]"),
                layer(schema, 0));
        assertEquals(
                List.of(
                        "norm.weight [32]",
                        "mixer.in_proj.weight [96, 32] decay",
                        "mixer.in_proj.bias [96]",
                        "mixer.out_proj.weight [32, 32] decay",
                        "mixer.out_proj.bias [32]"),
                layer(schema, 1));
    }
}
