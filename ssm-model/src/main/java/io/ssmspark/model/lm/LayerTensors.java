package io.ssmspark.model.lm;

import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.layers.Attention;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The tensors of one model laid out as {@link CheckpointSchema}, grouped per layer: either the parameters
 * (views into the flat parameter vector) or the gradient accumulators (views into a flat gradient of the same
 * layout). Built from {@link CheckpointSchema#unflatten}, so writing into a view writes into the flat vector.
 */
final class LayerTensors {

    /** A norm's weight and (LayerNorm only) bias. */
    record Norm(INDArray weight, INDArray bias) {
    }

    /** One block: norm, mixer (exactly one of mamba / attention), and the optional norm2 + MLP. */
    record Block(Norm norm, Mamba2Mixer.Weights mamba, Attention.Weights attention, Norm norm2, INDArray fc1,
            INDArray fc2) {
    }

    final INDArray embedding;
    final Block[] blocks;
    final Norm normF;
    /** The LM head weight [V, d]: the embedding itself when tied. */
    final INDArray head;

    LayerTensors(MambaConfig c, CheckpointSchema schema, INDArray flat) {
        Map<String, INDArray> t = schema.unflatten(flat);
        embedding = t.get(CheckpointSchema.EMBEDDING);
        blocks = new Block[c.nLayer()];
        for (int i = 0; i < c.nLayer(); i++) {
            String p = "backbone.layers." + i + ".";
            Norm norm = new Norm(t.get(p + "norm.weight"), t.get(p + "norm.bias"));
            Mamba2Mixer.Weights mamba = null;
            Attention.Weights attention = null;
            if (c.isAttentionLayer(i)) {
                attention = new Attention.Weights(t.get(p + "mixer.in_proj.weight"), t.get(p + "mixer.in_proj.bias"),
                        t.get(p + "mixer.out_proj.weight"), t.get(p + "mixer.out_proj.bias"));
            } else {
                INDArray conv = t.get(p + "mixer.conv1d.weight");
                mamba = new Mamba2Mixer.Weights(t.get(p + "mixer.in_proj.weight"),
                        conv.reshape('c', conv.size(0), conv.size(2)), // (C, 1, K) viewed as [C, K]
                        t.get(p + "mixer.conv1d.bias"), t.get(p + "mixer.dt_bias"), t.get(p + "mixer.A_log"),
                        t.get(p + "mixer.D"), t.get(p + "mixer.norm.weight"), t.get(p + "mixer.out_proj.weight"));
            }
            Norm norm2 = c.hasMlp() ? new Norm(t.get(p + "norm2.weight"), t.get(p + "norm2.bias")) : null;
            blocks[i] = new Block(norm, mamba, attention, norm2, t.get(p + "mlp.fc1.weight"),
                    t.get(p + "mlp.fc2.weight"));
        }
        normF = new Norm(t.get("backbone.norm_f.weight"), t.get("backbone.norm_f.bias"));
        head = c.tieEmbeddings() ? embedding : t.get(CheckpointSchema.LM_HEAD);
    }
}
