package io.ssmspark.model.testing;

import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.RetNetConfig;
import io.ssmspark.model.config.S4dConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.lm.HybridLm;
import io.ssmspark.model.lm.ModelInit;
import java.util.List;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The tiny configs and random models every module's tests share (ssm-model's test-jar). */
public final class TinyModels {
    private TinyModels() {}

    /** Pure Mamba-2: 2 layers, LayerNorm, D per channel, tied head, vocab 13 padded to 16, chunk 4. */
    public static MambaConfig pureMamba() {
        return MambaConfig.builder()
                .dModel(8)
                .nLayer(2)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .rmsNorm(false)
                .ssm(SsmConfig.builder()
                        .dState(4)
                        .dConv(3)
                        .expand(2)
                        .headdim(4)
                        .ngroups(1)
                        .chunkSize(4)
                        .dHasHdim(true)
                        .build())
                .tieEmbeddings(true)
                .build();
    }

    /**
     * Hybrid: 3 layers, layer 1 attention (4 query heads on 2 kv heads, head_dim 4, rotary on all 4 dims),
     * d_intermediate 16 (GatedMLP hidden 128), ngroups 2, untied head, vocab 13 padded to 16.
     */
    public static MambaConfig hybrid(Integer windowSize) {
        return MambaConfig.builder()
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
                        .rotaryEmbBase(100.0)
                        .windowSize(windowSize)
                        .build())
                .tieEmbeddings(false)
                .build();
    }

    /**
     * RetNet: 3 layers of d_model 8 in 2 retention heads (d_k 4, d_v 4·valueFactor), chunk 4, GatedMLP, untied head;
     * layer 1 attention as in {@link #hybrid} when {@code attention} (window null: full).
     */
    public static MambaConfig retNet(boolean attention, Integer windowSize, RetNetConfig retention) {
        MambaConfig.Builder b = MambaConfig.builder()
                .dModel(8)
                .nLayer(3)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .dIntermediate(16)
                .ssm(SsmConfig.builder().retNet(retention).chunkSize(4).build())
                .tieEmbeddings(false);
        if (attention) {
            b.attnLayerIdx(List.of(1))
                    .attn(AttnConfig.builder()
                            .numHeads(4)
                            .numHeadsKv(2)
                            .headDim(4)
                            .rotaryEmbDim(4)
                            .rotaryEmbBase(100.0)
                            .windowSize(windowSize)
                            .build());
        }
        return b.build();
    }

    /** Pure S4D: 2 layers, d_model 8, d_state 6 (3 conjugate pairs or 6 real modes), blocks of {@code chunk}. */
    public static MambaConfig pureS4d(S4dConfig.Init init, int chunk) {
        return MambaConfig.builder()
                .dModel(8)
                .nLayer(2)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .ssm(SsmConfig.builder()
                        .layer(S4dConfig.LAYER)
                        .dState(6)
                        .chunkSize(chunk)
                        .dtMin(0.01)
                        .dtMax(0.3)
                        .s4d(new S4dConfig(init))
                        .build())
                .tieEmbeddings(true)
                .build();
    }

    /** S4D hybrid: 3 layers, layer 1 attention as in {@link #hybrid}, GatedMLP, untied head, blocks of 4. */
    public static MambaConfig hybridS4d(S4dConfig.Init init, Integer windowSize) {
        return hybrid(windowSize).toBuilder().ssm(pureS4d(init, 4).ssm()).build();
    }

    /**
     * Pure Mamba-1: 2 layers, d_model 8, d_inner 16, d_state 4, d_conv 3, dt_rank auto (1), LayerNorm, tied head; dt
     * initialised in [0.05, 0.5] (mamba_ssm's default [0.001, 0.1] leaves states too small for the tests to see).
     */
    public static MambaConfig pureMamba1() {
        return MambaConfig.builder()
                .dModel(8)
                .nLayer(2)
                .vocabSize(13)
                .padVocabSizeMultiple(8)
                .rmsNorm(false)
                .ssm(SsmConfig.mamba1Builder()
                        .dState(4)
                        .dConv(3)
                        .expand(2)
                        .dtMin(0.05)
                        .dtMax(0.5)
                        .build())
                .tieEmbeddings(true)
                .build();
    }

    /**
     * Mamba-1 hybrid: 3 layers, layer 1 attention (as {@link #hybrid}), d_intermediate 16, Mamba-1 layers with
     * dt_rank 3, d_conv 4, in/out_proj biases, untied head, dt initialised in [0.05, 0.5].
     */
    public static MambaConfig mamba1Hybrid(Integer windowSize) {
        return hybrid(windowSize).toBuilder()
                .ssm(SsmConfig.mamba1Builder()
                        .dState(4)
                        .dConv(4)
                        .expand(2)
                        .dtRank(3)
                        .bias(true)
                        .dtMin(0.05)
                        .dtMax(0.5)
                        .build())
                .build();
    }

    /** {@link #hybrid}'s three Mamba2 layers without the attention layer. */
    public static MambaConfig mamba2Stack() {
        return hybrid(null).toBuilder().attnLayerIdx(List.of()).build();
    }

    /**
     * A model sized for short training runs on the synthetic corpora (vocab 129, as associative-recall's defaults):
     * d_model 16, a Mamba2 layer then an attention layer, each with a GatedMLP, untied head.
     */
    public static MambaConfig trainingHybrid() {
        return MambaConfig.builder()
                .dModel(16)
                .nLayer(2)
                .vocabSize(129)
                .padVocabSizeMultiple(8)
                .dIntermediate(16)
                .ssm(SsmConfig.builder()
                        .dState(8)
                        .dConv(4)
                        .expand(2)
                        .headdim(8)
                        .ngroups(1)
                        .chunkSize(16)
                        .build())
                .attnLayerIdx(List.of(1))
                .attn(AttnConfig.builder()
                        .numHeads(2)
                        .numHeadsKv(2)
                        .headDim(8)
                        .rotaryEmbDim(8)
                        .build())
                .tieEmbeddings(false)
                .build();
    }

    /** mamba_ssm's initialisation plus N(0, noise²) on every parameter, so biases and norms are not trivial. */
    public static HybridLm randomModel(MambaConfig c, long seed, double noise, DataType dtype) {
        INDArray flat = ModelInit.initialize(c, seed, DataType.DOUBLE);
        flat.addi(FiniteDifferences.randn(new Random(seed + 1), noise, flat.length()));
        return new HybridLm(c, flat.castTo(dtype));
    }

    public static int[][] tokens(Random rnd, int batch, int t, int vocab) {
        int[][] out = new int[batch][t];
        for (int b = 0; b < batch; b++) {
            for (int i = 0; i < t; i++) {
                out[b][i] = rnd.nextInt(vocab);
            }
        }
        return out;
    }
}
