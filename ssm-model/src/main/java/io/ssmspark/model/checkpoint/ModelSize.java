package io.ssmspark.model.checkpoint;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.mixer.MixerParameter;
import io.ssmspark.model.mixer.Mixers;

/**
 * The number of parameters of a config, counted from its sizes alone: nothing is allocated and no per-tensor list of
 * the whole model is built, so an absurd config (d_model 10^9, a million layers) is counted at once. It counts
 * exactly the tensors of {@link CheckpointSchema#of} (a test holds the two equal): the mixers' as their
 * {@link Mixers} families declare them, one layer of each kind, times the layers of that kind. Long arithmetic
 * stops at {@link Long#MAX_VALUE} instead of overflowing.
 */
public final class ModelSize {
    private ModelSize() {}

    /** Parameters of the model, at most {@link Long#MAX_VALUE}. */
    public static long parameters(MambaConfig c) {
        long d = c.dModel();
        long vocab = c.paddedVocabSize();
        long norm = c.rmsNorm() ? d : 2 * d; // LayerNorm also has a bias
        long attentionLayers = c.attnLayerIdx().size();
        long otherLayers = c.nLayer() - attentionLayers;
        long total = mul(vocab, d); // embedding
        total = add(total, mul(c.nLayer(), add(norm, mlp(c, d, norm))));
        if (otherLayers > 0) {
            total = add(total, mul(otherLayers, mixer(c, c.ssm().layer())));
        }
        if (attentionLayers > 0) {
            total = add(total, mul(attentionLayers, mixer(c, Mixers.ATTENTION)));
        }
        total = add(total, norm); // norm_f
        return c.tieEmbeddings() ? total : add(total, mul(vocab, d));
    }

    /** One mixer of the layer name's family. */
    private static long mixer(MambaConfig c, String layerName) {
        long n = 0;
        for (MixerParameter p : Mixers.family(layerName).parameters(c)) {
            long size = 1;
            for (long dim : p.shape()) {
                size = dim < 0 ? Long.MAX_VALUE : mul(size, dim); // a negative dimension overflowed an int
            }
            n = add(n, size);
        }
        return n;
    }

    /** norm2, fc1 (2 · hidden × d) and fc2 (d × hidden) of a layer's GatedMLP; 0 without one. */
    private static long mlp(MambaConfig c, long d, long norm) {
        if (!c.hasMlp()) {
            return 0;
        }
        long hidden = (c.dIntermediate() + MambaConfig.MLP_MULTIPLE_OF - 1L)
                / MambaConfig.MLP_MULTIPLE_OF
                * MambaConfig.MLP_MULTIPLE_OF;
        return add(norm, mul(3 * hidden, d));
    }

    private static long mul(long a, long b) {
        long p = a * b;
        long high = Math.multiplyHigh(a, b);
        return high != 0 || p < 0 ? Long.MAX_VALUE : p; // a, b >= 0
    }

    private static long add(long a, long b) {
        long s = a + b;
        return s < 0 ? Long.MAX_VALUE : s; // a, b >= 0
    }
}
