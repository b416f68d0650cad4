package io.ssmspark.model.lm;

import io.ssmspark.model.checkpoint.CheckpointSchema;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.mixer.Mixer;
import io.ssmspark.model.mixer.Mixers;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The tensors of one model laid out as {@link CheckpointSchema}, grouped per layer: either the parameters
 * (views into the flat parameter vector) or the gradient accumulators (views into a flat gradient of the same
 * layout). Built from {@link CheckpointSchema#unflatten}, so writing into a view writes into the flat vector.
 */
final class LayerTensors {

    /** A norm's weight and (LayerNorm only) bias. */
    record Norm(INDArray weight, INDArray bias) {}

    /** One block: norm, mixer (built by {@link Mixers} over the layer's tensors), and the optional norm2 + MLP. */
    record Block(Norm norm, Mixer mixer, Norm norm2, INDArray fc1, INDArray fc2) {}

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
            Mixer mixer = Mixers.create(c, i, name -> t.get(p + "mixer." + name));
            Norm norm2 = c.hasMlp() ? new Norm(t.get(p + "norm2.weight"), t.get(p + "norm2.bias")) : null;
            blocks[i] = new Block(norm, mixer, norm2, t.get(p + "mlp.fc1.weight"), t.get(p + "mlp.fc2.weight"));
        }
        normF = new Norm(t.get("backbone.norm_f.weight"), t.get("backbone.norm_f.bias"));
        head = c.tieEmbeddings() ? embedding : t.get(CheckpointSchema.LM_HEAD);
    }
}
