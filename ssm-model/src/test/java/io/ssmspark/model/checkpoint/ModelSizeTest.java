package io.ssmspark.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.S4dConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.lm.ModelInit;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The count from the config alone equals the real parameter layout, and absurd configs are counted at once. */
class ModelSizeTest {
    private static MambaConfig.Builder hybrid() {
        return MambaConfig.builder()
                .dModel(32)
                .nLayer(3)
                .vocabSize(250)
                .dIntermediate(40)
                .ssm(SsmConfig.builder()
                        .dState(4)
                        .dConv(4)
                        .headdim(16)
                        .ngroups(2)
                        .build())
                .attnLayerIdx(List.of(1))
                .attn(AttnConfig.builder().numHeads(4).numHeadsKv(2).build())
                .tieEmbeddings(false);
    }

    @Test
    void equalsTheSchemaOfEveryKindOfConfig() {
        List<MambaConfig> configs = List.of(
                hybrid().build(),
                hybrid().tieEmbeddings(true).build(),
                hybrid().rmsNorm(false).build(), // LayerNorm: every norm has a bias too
                hybrid().dIntermediate(0).build(), // no MLP, no norm2
                hybrid().dIntermediate(300).build(), // hidden rounded up to 384
                hybrid().attn(AttnConfig.builder()
                                .numHeads(4)
                                .numHeadsKv(1)
                                .headDim(12)
                                .qkvProjBias(false)
                                .outProjBias(false)
                                .build())
                        .build(),
                hybrid().ssm(SsmConfig.builder()
                                .dState(8)
                                .dConv(3)
                                .expand(3)
                                .headdim(8)
                                .ngroups(4)
                                .dHasHdim(true)
                                .rmsnorm(false)
                                .build())
                        .build(),
                hybrid().attnLayerIdx(List.of(0, 1, 2)).build(), // attention only
                hybrid().attnLayerIdx(List.of()).padVocabSizeMultiple(64).build()); // Mamba2 only
        for (MambaConfig c : configs) {
            assertEquals(CheckpointSchema.of(c).totalParameters(), ModelSize.parameters(c), c.toJson());
        }
    }

    /** S4D layers (complex and real modes), alone and with attention, with and without MLP. */
    @Test
    void equalsTheSchemaOfS4dConfigs() {
        for (S4dConfig.Init init : S4dConfig.Init.values()) {
            SsmConfig s4d = SsmConfig.builder()
                    .layer(S4dConfig.LAYER)
                    .dState(6)
                    .s4d(new S4dConfig(init))
                    .build();
            List<MambaConfig> configs = List.of(
                    hybrid().ssm(s4d).build(),
                    hybrid().ssm(s4d)
                            .attnLayerIdx(List.of())
                            .dIntermediate(0)
                            .tieEmbeddings(true)
                            .build(),
                    hybrid().ssm(s4d).rmsNorm(false).build());
            for (MambaConfig c : configs) {
                assertEquals(CheckpointSchema.of(c).totalParameters(), ModelSize.parameters(c), c.toJson());
                try (INDArray parameters = ModelInit.initialize(c, 1, DataType.FLOAT)) {
                    assertEquals(parameters.length(), ModelSize.parameters(c));
                }
            }
        }
    }

    @Test
    void equalsTheSchemaOfEveryKindOfMamba1Config() {
        List<MambaConfig> configs = List.of(
                hybrid().ssm(SsmConfig.MAMBA1_DEFAULTS).build(),
                hybrid().ssm(SsmConfig.mamba1Builder()
                                .dState(4)
                                .dConv(3)
                                .expand(3)
                                .dtRank(7)
                                .build())
                        .build(),
                hybrid().ssm(SsmConfig.mamba1Builder()
                                .convBias(false)
                                .bias(true)
                                .build())
                        .rmsNorm(false)
                        .build(),
                hybrid().ssm(SsmConfig.MAMBA1_DEFAULTS)
                        .attnLayerIdx(List.of())
                        .tieEmbeddings(true)
                        .build(),
                hybrid().ssm(SsmConfig.MAMBA1_DEFAULTS)
                        .dModel(768)
                        .nLayer(24)
                        .vocabSize(50277)
                        .dIntermediate(0)
                        .attnLayerIdx(List.of())
                        .tieEmbeddings(true)
                        .build()); // mamba-130m
        for (MambaConfig c : configs) {
            assertEquals(CheckpointSchema.of(c).totalParameters(), ModelSize.parameters(c), c.toJson());
        }
        // mamba-130m: embedding 50280·768, 24 layers of in_proj 3072·768, conv 1536·5, x_proj 80·1536,
        // dt_proj 1536·49, A_log 1536·16, D 1536, out_proj 768·1536, norm 768; norm_f 768
        long layer = 3072L * 768 + 1536 * 5 + 80 * 1536 + 1536 * 49 + 1536 * 16 + 1536 + 768L * 1536 + 768;
        assertEquals(50280L * 768 + 24 * layer + 768, ModelSize.parameters(configs.get(4)));
    }

    @Test
    void equalsTheLengthOfAnInitialisedModel() {
        MambaConfig c = hybrid().build();
        try (INDArray parameters = ModelInit.initialize(c, 1, DataType.FLOAT)) {
            assertEquals(parameters.length(), ModelSize.parameters(c));
        }
    }

    /** A million layers: the count is linear in n_layer, so the schemas of 1 and 2 layers predict it. */
    @Test
    void countsAMillionLayersWithoutBuildingTheirSchema() {
        MambaConfig.Builder mamba = hybrid().attnLayerIdx(List.of());
        long one = CheckpointSchema.of(mamba.nLayer(1).build()).totalParameters();
        long two = CheckpointSchema.of(mamba.nLayer(2).build()).totalParameters();
        assertEquals(
                one + (two - one) * 999_999,
                ModelSize.parameters(mamba.nLayer(1_000_000).build()));
    }

    /**
     * d_model 10^9, 1 Mamba2 layer, no MLP, tied, d_state 16, headdim 64, vocab 16: d_inner 2·10^9, heads
     * 31,250,000, in_proj (2·d_inner + 2·16 + heads) × d_model, conv (d_inner + 32) × 5, dt_bias + A_log + D =
     * 3·heads, gated norm d_inner, out_proj d_model × d_inner, norm d_model; plus the embedding 16 × d_model and
     * norm_f: about 6e18. A second layer passes Long.MAX_VALUE.
     */
    @Test
    void countsDModelOfABillionInLongs() {
        long d = 1_000_000_000L;
        MambaConfig c = MambaConfig.builder()
                .dModel((int) d)
                .nLayer(1)
                .vocabSize(16)
                .ssm(SsmConfig.builder().dState(16).headdim(64).build())
                .build();
        long inner = 2 * d;
        long heads = inner / 64;
        long layer = (2 * inner + 32 + heads) * d + (inner + 32) * 5 + 3 * heads + inner + d * inner + d;
        assertEquals(16 * d + layer + d, ModelSize.parameters(c));
        assertEquals(
                Long.MAX_VALUE, ModelSize.parameters(c.toBuilder().nLayer(2).build()));
    }

    @Test
    void stopsAtLongMaxValueInsteadOfOverflowing() {
        MambaConfig c = MambaConfig.builder()
                .dModel(1_000_000_000)
                .nLayer(Integer.MAX_VALUE)
                .vocabSize(16)
                .dIntermediate(Integer.MAX_VALUE)
                .ssm(SsmConfig.builder().dState(16).headdim(64).build())
                .build();
        assertEquals(Long.MAX_VALUE, ModelSize.parameters(c));
    }
}
