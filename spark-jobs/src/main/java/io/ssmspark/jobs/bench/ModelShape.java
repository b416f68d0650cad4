package io.ssmspark.jobs.bench;

import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.util.List;

/**
 * What the training cost model needs of a model: its parameter count, width and how many layers of each kind. The
 * parameter count is the checkpoint schema's, so it is exact for the configs built here.
 */
public record ModelShape(
        String name,
        long parameters,
        int dModel,
        int mambaLayers,
        int attentionLayers,
        int mlpLayers,
        int mlpHidden,
        int paddedVocab) {

    public static ModelShape of(String name, MambaConfig c) {
        int attention = c.attnLayerIdx().size();
        return new ModelShape(
                name,
                CheckpointSchema.of(c).totalParameters(),
                c.dModel(),
                c.nLayer() - attention,
                attention,
                c.hasMlp() ? c.nLayer() : 0,
                c.hasMlp() ? c.mlpHidden() : 0,
                c.paddedVocabSize());
    }

    public int layers() {
        return mambaLayers + attentionLayers;
    }

    /** The model {@code bench train-step} builds with its default options. */
    public static ModelShape benchModel() {
        return of("bench", new TrainStepBench().config());
    }

    /** state-spaces/mamba2-130m's shape: d_model 768, 24 Mamba-2 layers, d_state 128, headdim 64, no MLP. */
    public static ModelShape mamba2With130mShape() {
        return of("mamba2-130m", mamba2(768, 24));
    }

    /** state-spaces/mamba2-1.3b's shape: d_model 2048, 48 Mamba-2 layers, d_state 128, headdim 64, no MLP. */
    public static ModelShape mamba2With1p3bShape() {
        return of("mamba2-1.3b", mamba2(2048, 48));
    }

    private static MambaConfig mamba2(int dModel, int layers) {
        return MambaConfig.builder()
                .dModel(dModel)
                .nLayer(layers)
                .vocabSize(50280)
                .padVocabSizeMultiple(16)
                .dIntermediate(0)
                .ssm(SsmConfig.builder().dState(128).headdim(64).build())
                .attnLayerIdx(List.of())
                .tieEmbeddings(true)
                .build();
    }
}
