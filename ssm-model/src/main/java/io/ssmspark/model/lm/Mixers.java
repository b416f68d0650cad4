package io.ssmspark.model.lm;

import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.layers.Attention;
import java.util.Map;
import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The one place a kind of mixer plugs in: a factory per config layer name, building layer i's {@link Mixer} over its
 * tensors. Every path (training, nll, decoding, the ML transformer, sequence-parallel scoring) gets its mixers here,
 * through {@link HybridLm}.
 */
public final class Mixers {

    /** Builds a mixer over one layer's tensors, named as in the checkpoint after "backbone.layers.{i}.mixer.". */
    @FunctionalInterface
    public interface Factory {
        Mixer create(MambaConfig config, Function<String, INDArray> tensor);
    }

    /** ssm_cfg.layer of a state-space layer (MambaConfigJson accepts only this one today). */
    public static final String MAMBA2 = "Mamba2";
    /** The layers of attn_layer_idx: mamba_ssm's MHA. */
    public static final String ATTENTION = "MHA";

    private static final Map<String, Factory> BY_NAME = Map.of(MAMBA2, Mixers::mamba2, ATTENTION, Mixers::attention);

    private Mixers() {
    }

    /** The layer name of layer {@code i}: MHA for the attention layers, else ssm_cfg.layer. */
    public static String layerName(MambaConfig c, int i) {
        return c.isAttentionLayer(i) ? ATTENTION : MAMBA2;
    }

    /** Layer {@code i}'s mixer over {@code tensor} (parameters or gradient accumulators). */
    static Mixer create(MambaConfig c, int i, Function<String, INDArray> tensor) {
        String name = layerName(c, i);
        Factory f = BY_NAME.get(name);
        if (f == null) {
            throw new IllegalArgumentException("layer " + i + ": no mixer is registered for layer name '" + name + "'");
        }
        return f.create(c, tensor);
    }

    private static Mixer mamba2(MambaConfig c, Function<String, INDArray> t) {
        INDArray conv = t.apply("conv1d.weight");
        return new Mamba2Mixer(new Mamba2Mixer.Weights(t.apply("in_proj.weight"),
                conv.reshape('c', conv.size(0), conv.size(2)), // (C, 1, K) viewed as [C, K]
                t.apply("conv1d.bias"), t.apply("dt_bias"), t.apply("A_log"), t.apply("D"), t.apply("norm.weight"),
                t.apply("out_proj.weight")), Mamba2Mixer.Spec.of(c));
    }

    private static Mixer attention(MambaConfig c, Function<String, INDArray> t) {
        return new AttentionMixer(new Attention.Weights(t.apply("in_proj.weight"), t.apply("in_proj.bias"),
                t.apply("out_proj.weight"), t.apply("out_proj.bias")), attentionSpec(c));
    }

    /** The attention block's spec from attn_cfg. */
    static Attention.Spec attentionSpec(MambaConfig c) {
        AttnConfig a = c.attn();
        return new Attention.Spec(c.attnNumHeads(), c.attnNumHeadsKv(), c.attnHeadDim(), a.rotaryEmbDim(),
                a.rotaryEmbBase(), a.softmaxScale(), a.windowSize() == null ? 0 : a.windowSize());
    }
}
