package io.ssmspark.model.checkpoint.hf;

import com.fasterxml.jackson.databind.JsonNode;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MalformedConfigException;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * A transformers {@code BambaForCausalLM} config.json (models/bamba/configuration_bamba.py, {@code BambaConfig})
 * mapped onto the hybrid {@link MambaConfig} that computes the same model (models/bamba/modular_bamba.py): every
 * BambaDecoderLayer is {@code h = r + mixer(input_layernorm(r)); out = h + feed_forward(pre_ff_layernorm(h))}, which is
 * mamba_ssm's Block with norm2 and a GatedMLP (LlamaMLP, hidden intermediate_size); the mixer is Mamba2 (BambaMixer,
 * a Mamba2Mixer) or, for the layers of attn_layer_indices, LlamaAttention (causal softmax, scale head_dim^-1/2, GQA,
 * rotary on the first head_dim · partial_rotary_factor dimensions, half-split, base rope_theta), as mamba_ssm's MHA.
 * RMSNorm everywhere with rms_norm_eps; unpadded vocabulary. Tensor names: {@link HfBambaNames}.
 *
 * <p>Anything ssm-spark does not compute identically is refused by field name.
 */
public final class HfBambaConfig {
    public static final String ARCHITECTURE = "BambaForCausalLM";
    public static final String MODEL_TYPE = "bamba";

    private HfBambaConfig() {}

    static HfConfig parse(HfFields f, String architecture) throws MalformedConfigException {
        List<String> notes = new ArrayList<>();
        // Defaults: BambaConfig.__init__ (configuration_bamba.py).
        int vocab = f.integer("vocab_size", 128000);
        boolean tied = f.bool("tie_word_embeddings", false);
        int hidden = f.integer("hidden_size", 4096);
        int intermediate = f.integer("intermediate_size", 14336);
        int layers = f.integer("num_hidden_layers", 32);
        int heads = f.integer("num_attention_heads", 32);
        JsonNode kvNode = f.raw("num_key_value_heads");
        int kvHeads = kvNode == null || kvNode.isNull() ? 8 : f.integer("num_key_value_heads", 8);
        double eps = f.number("rms_norm_eps", 1e-5);
        int mambaHeads = f.integer("mamba_n_heads", 128);
        int groups = f.integer("mamba_n_groups", 1);
        int state = f.integer("mamba_d_state", 256);
        int conv = f.integer("mamba_d_conv", 4);
        int expand = f.integral("mamba_expand", 2);
        int chunk = f.integer("mamba_chunk_size", 256);
        double dtMin = f.number("time_step_min", 0.001);
        double dtMax = f.number("time_step_max", 0.1);
        for (String field : new String[] {
            "vocab_size",
            "hidden_size",
            "intermediate_size",
            "num_hidden_layers",
            "num_attention_heads",
            "mamba_n_heads",
            "mamba_n_groups",
            "mamba_d_state",
            "mamba_d_conv",
            "mamba_expand",
            "mamba_chunk_size"
        }) {
            JsonNode v = f.node().get(field);
            if (v != null && v.isNumber() && v.doubleValue() < 1) {
                throw f.invalid(field, "must be >= 1, found " + v);
            }
        }
        long inner = (long) expand * hidden;
        if (inner % mambaHeads != 0) {
            throw f.invalid(
                    "mamba_n_heads", "= " + mambaHeads + " does not divide mamba_expand * hidden_size = " + inner);
        }
        JsonNode dHeadNode = f.raw("mamba_d_head");
        int dHead = (int) (inner / mambaHeads);
        if (dHeadNode != null
                && !(dHeadNode.isTextual() && dHeadNode.textValue().equals("auto"))) {
            int stated = f.integer("mamba_d_head", dHead);
            if (stated != dHead) {
                throw f.invalid(
                        "mamba_d_head",
                        "= " + stated + " but mamba_expand * hidden_size / mamba_n_heads = " + dHead
                                + "; they must be equal (BambaConfig raises on this)");
            }
        }
        if (groups != 1) {
            // modular_bamba.py: BambaRMSNormGated (MambaRMSNormGated) normalises all intermediate channels at once;
            // ssm-spark, as mamba_ssm, normalises each of the n_groups groups.
            throw f.unsupported(
                    "mamba_n_groups",
                    groups,
                    "transformers' Bamba normalises the gated output over all channels, ssm-spark (as mamba_ssm)"
                            + " per group; only 1 gives the same model");
        }
        HfConfig.requireGatedNormEpsilon(f, "rms_norm_eps", eps);
        if (f.bool("mamba_proj_bias", false)) {
            throw f.unsupported("mamba_proj_bias", true, "ssm-spark's Mamba2 has no in_proj / out_proj bias");
        }
        if (!f.bool("mamba_conv_bias", true)) {
            throw f.unsupported("mamba_conv_bias", false, "ssm-spark's Mamba2 conv1d always has a bias");
        }
        if (f.bool("attention_bias", false)) {
            throw f.unsupported("attention_bias", true, "Bamba's q/k/v/o projections have no bias");
        }
        if (f.bool("mlp_bias", false)) {
            throw f.unsupported("mlp_bias", true, "ssm-spark's GatedMLP has no bias");
        }
        String act = f.string("hidden_act");
        if (act != null && !act.equals("silu") && !act.equals("swish")) {
            throw f.unsupported(
                    "hidden_act", "\"" + act + "\"", "only \"silu\" (or \"swish\", the same function) is supported");
        }
        if (conv < 2) {
            throw f.unsupported("mamba_d_conv", conv, "ssm-spark's causal conv needs a kernel of at least 2");
        }
        int roundedMlp = (intermediate + MambaConfig.MLP_MULTIPLE_OF - 1)
                / MambaConfig.MLP_MULTIPLE_OF
                * MambaConfig.MLP_MULTIPLE_OF;
        if (roundedMlp != intermediate) {
            throw f.unsupported(
                    "intermediate_size",
                    intermediate,
                    "ssm-spark's GatedMLP (as mamba_ssm's) rounds its hidden width up to a multiple of "
                            + MambaConfig.MLP_MULTIPLE_OF + "; only such a multiple gives the same model");
        }
        HfConfig.requireUnclampedTimeStep(f);
        if (heads < 1 || kvHeads < 1 || heads % kvHeads != 0) {
            throw f.invalid("num_key_value_heads", "= " + kvHeads + " must divide num_attention_heads = " + heads);
        }
        int headDim = f.integer("head_dim", hidden / heads);
        if (f.node().get("head_dim") == null && hidden % heads != 0) {
            throw f.invalid("num_attention_heads", "= " + heads + " does not divide hidden_size = " + hidden);
        }
        double[] rope = rope(f);
        double theta = rope[0];
        double partial = rope[1];
        if (partial != 0.5) {
            // configuration_bamba.py: BambaConfig.__init__ sets kwargs["partial_rotary_factor"] = 0.5 ("hardcode for
            // BC") whatever config.json says, so another value describes a model transformers does not build.
            throw f.unsupported(
                    "partial_rotary_factor",
                    partial,
                    "transformers' BambaConfig always uses 0.5 (it overrides the field), so only 0.5 is supported");
        }
        double rot = headDim * partial;
        int rotary = (int) rot;
        if (rotary % 2 != 0 || rotary == 0) {
            throw f.unsupported(
                    "head_dim",
                    headDim,
                    "head_dim * partial_rotary_factor (0.5) = " + rot
                            + " must be an even number of rotated dimensions");
        }
        List<Integer> attn = attnLayers(f, layers);
        layerTypes(f, layers, attn);
        // Only used in training or generation, or to initialise a new model.
        for (String k : new String[] {
            "initializer_range",
            "num_logits_to_keep",
            "max_position_embeddings",
            "attention_dropout",
            "z_loss_coefficient",
            "time_step_floor",
            "mlp_padding_size"
        }) {
            f.raw(k);
        }
        String declared = HfConfig.declaredDtype(f);
        String version = HfConfig.generic(f, ARCHITECTURE);
        String unknown = f.unknown();
        if (unknown != null) {
            throw new MalformedConfigException(f.source() + ": unknown field '" + unknown + "': it is not a field of"
                    + " transformers' BambaConfig, and ssm-spark does not guess what it means");
        }
        try {
            MambaConfig config = MambaConfig.builder()
                    .dModel(hidden)
                    .nLayer(layers)
                    .vocabSize(vocab)
                    .padVocabSizeMultiple(1)
                    .dIntermediate(intermediate)
                    .rmsNorm(true)
                    .normEpsilon(eps)
                    .tieEmbeddings(tied)
                    .attnLayerIdx(attn)
                    .attn(AttnConfig.builder()
                            .numHeads(heads)
                            .numHeadsKv(kvHeads)
                            .headDim(headDim)
                            .rotaryEmbDim(rotary)
                            .rotaryEmbBase(theta)
                            .qkvProjBias(false)
                            .outProjBias(false)
                            .build())
                    .ssm(SsmConfig.builder()
                            .layer("Mamba2")
                            .dState(state)
                            .dConv(conv)
                            .expand(expand)
                            .headdim(dHead)
                            .ngroups(groups)
                            .chunkSize(chunk)
                            .dHasHdim(false)
                            .rmsnorm(true)
                            .normBeforeGate(false)
                            .dtMin(dtMin)
                            .dtMax(dtMax)
                            .build())
                    .build();
            return new HfConfig(config, architecture, declared, version, notes);
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new MalformedConfigException(f.source() + ": " + e.getMessage(), e);
        }
    }

    /** rope_theta and partial_rotary_factor, from 4.x's top-level fields or 5.x's rope_parameters. */
    private static double[] rope(HfFields f) throws MalformedConfigException {
        double theta = f.number("rope_theta", 10000.0);
        double partial = f.number("partial_rotary_factor", 0.5);
        JsonNode scaling = f.raw("rope_scaling");
        if (scaling != null && !scaling.isNull()) {
            if (!(scaling.isObject() && isDefaultRope(scaling))) {
                throw f.unsupported(
                        "rope_scaling", scaling, "only the default rotary embedding (no scaling) is supported");
            }
            theta = ropeNumber(f, "rope_scaling", scaling, "rope_theta", theta);
        }
        JsonNode params = f.raw("rope_parameters");
        if (params != null && !params.isNull()) {
            if (!params.isObject()) {
                throw f.wrongType("rope_parameters", "an object", params);
            }
            for (Iterator<String> it = params.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (!k.equals("rope_type")
                        && !k.equals("type")
                        && !k.equals("rope_theta")
                        && !k.equals("partial_rotary_factor")) {
                    throw f.unsupported(
                            "rope_parameters." + k, params.get(k), "only the default rotary embedding is supported");
                }
            }
            if (!isDefaultRope(params)) {
                throw f.unsupported(
                        "rope_parameters.rope_type", params.get("rope_type"), "only \"default\" is supported");
            }
            theta = ropeNumber(f, "rope_parameters", params, "rope_theta", theta);
            partial = ropeNumber(f, "rope_parameters", params, "partial_rotary_factor", partial);
        }
        if (!(theta > 0) || !Double.isFinite(theta)) {
            throw f.invalid("rope_theta", "must be a finite number > 0, found " + theta);
        }
        if (!(partial > 0) || partial > 1) {
            throw f.invalid("partial_rotary_factor", "must be in (0, 1], found " + partial);
        }
        return new double[] {theta, partial};
    }

    private static boolean isDefaultRope(JsonNode o) {
        JsonNode t = o.has("rope_type") ? o.get("rope_type") : o.get("type");
        return t == null || (t.isTextual() && t.textValue().equals("default"));
    }

    private static double ropeNumber(HfFields f, String parent, JsonNode o, String key, double dflt)
            throws MalformedConfigException {
        JsonNode v = o.get(key);
        return v == null ? dflt : f.toDouble(parent + "." + key, v);
    }

    private static List<Integer> attnLayers(HfFields f, int layers) throws MalformedConfigException {
        JsonNode v = f.raw("attn_layer_indices");
        List<Integer> out = new ArrayList<>();
        if (v == null || v.isNull()) {
            return out;
        }
        if (!v.isArray()) {
            throw f.wrongType("attn_layer_indices", "an array of layer indices", v);
        }
        for (JsonNode i : v) {
            if (!i.canConvertToInt() || !i.isIntegralNumber() || i.intValue() < 0 || i.intValue() >= layers) {
                throw f.invalid(
                        "attn_layer_indices",
                        "holds " + i + ", not a layer index in [0, num_hidden_layers = " + layers + ")");
            }
            if (!out.contains(i.intValue())) {
                out.add(i.intValue());
            }
        }
        out.sort(null);
        return out;
    }

    /** 5.x may list layer_types ("linear_attention" for Mamba2, "full_attention"); they must agree. */
    private static void layerTypes(HfFields f, int layers, List<Integer> attn) throws MalformedConfigException {
        JsonNode v = f.raw("layer_types");
        if (v == null || v.isNull()) {
            return;
        }
        if (!v.isArray() || v.size() != layers) {
            throw f.wrongType("layer_types", "an array of " + layers + " layer types (num_hidden_layers)", v);
        }
        for (int i = 0; i < layers; i++) {
            String t = v.get(i).asText();
            boolean isAttn = t.equals("full_attention") || t.equals("attention");
            boolean isMamba = t.equals("linear_attention") || t.equals("mamba");
            if (!(isAttn || isMamba) || isAttn != attn.contains(i)) {
                throw f.unsupported(
                        String.format(Locale.ROOT, "layer_types[%d]", i),
                        v.get(i),
                        "it must be \"" + (attn.contains(i) ? "full_attention" : "linear_attention")
                                + "\" as attn_layer_indices says");
            }
        }
    }
}
