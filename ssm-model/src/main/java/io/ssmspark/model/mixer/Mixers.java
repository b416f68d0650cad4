package io.ssmspark.model.mixer;

import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.RetNetConfig;
import java.util.Map;
import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The one place a kind of mixer plugs in: its {@link MixerFamily} (parameters, initialisation, factory) under its
 * config layer name. The checkpoint schema, a fresh model's initialisation and every path that runs the model
 * (training, nll, decoding, the ML transformer, sequence-parallel scoring) get layer i's mixer here.
 */
public final class Mixers {

    /** ssm_cfg.layer of mamba_ssm's Mamba2 layer. */
    public static final String MAMBA2 = "Mamba2";
    /** ssm_cfg.layer of RetNet's multi-scale retention (our name). */
    public static final String RETNET = RetNetConfig.LAYER;
    /** The layers of attn_layer_idx: mamba_ssm's MHA. */
    public static final String ATTENTION = "MHA";
    /** ssm_cfg.layer of the S4D layer (ours). */
    public static final String S4D = io.ssmspark.model.config.S4dConfig.LAYER;
    /** ssm_cfg.layer of mamba_ssm's Mamba (Mamba1) layer, also when ssm_cfg names no layer. */
    public static final String MAMBA1 = "Mamba1";

    private static final Map<String, MixerFamily> BY_NAME = Map.of(
            MAMBA2, Mamba2Mixer.FAMILY,
            MAMBA1, Mamba1Mixer.FAMILY,
            RETNET, RetentionMixer.FAMILY,
            ATTENTION, AttentionMixer.FAMILY,
            S4D, S4dMixer.FAMILY);

    private Mixers() {}

    /** The layer name of layer {@code i}: MHA for the layers of attn_layer_idx, else ssm_cfg.layer. */
    public static String layerName(MambaConfig c, int i) {
        return c.isAttentionLayer(i) ? ATTENTION : c.ssm().layer();
    }

    /** Whether a mixer is registered under {@code layerName}. */
    public static boolean isRegistered(String layerName) {
        return BY_NAME.containsKey(layerName);
    }

    /** The family of layer {@code i}'s mixer. */
    public static MixerFamily family(MambaConfig c, int i) {
        return family(layerName(c, i));
    }

    /** The family registered under {@code layerName}. */
    public static MixerFamily family(String layerName) {
        MixerFamily f = BY_NAME.get(layerName);
        if (f == null) {
            throw new IllegalArgumentException("no mixer is registered for layer name '" + layerName + "'");
        }
        return f;
    }

    /** Layer {@code i}'s mixer over {@code tensor} (parameters or gradient accumulators). */
    public static Mixer create(MambaConfig c, int i, Function<String, INDArray> tensor) {
        return family(c, i).create(c, tensor);
    }
}
