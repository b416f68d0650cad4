package io.ssmspark.model.checkpoint.hf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ssmspark.model.config.AttnConfig;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.layers.GatedRmsNorm;
import java.io.UncheckedIOException;

/**
 * The transformers config.json of a MambaConfig that transformers can compute identically: {@code
 * Mamba2ForCausalLM} for pure Mamba2 models, {@code MambaForCausalLM} for pure Mamba-1 ones, {@code
 * BambaForCausalLM} for Mamba2 models with a GatedMLP in every layer, attention layers or not, with the fields
 * {@link HfMamba2Config}, {@link HfMambaConfig} and {@link HfBambaConfig} read (the inverse of those mappings).
 * {@code vocab_size} is the padded vocabulary (transformers' embedding and logits have vocab_size rows, mamba_ssm's the padded number). A
 * config transformers would compute differently is refused with the reason ({@link IllegalArgumentException}).
 */
public final class HfConfigWriter {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** head_dim written for a Bamba model without attention layers (half of it rotated: an even count). */
    public static final int NO_ATTENTION_HEAD_DIM = 4;

    private HfConfigWriter() {}

    /** Why transformers cannot hold this config, or null when it can. */
    public static String unsupported(MambaConfig c) {
        if (isBamba(c)) {
            return unsupportedAsBamba(c);
        }
        SsmConfig s = c.ssm();
        if (!c.rmsNorm()) {
            return "rms_norm = false: transformers' Mamba and Mamba2 models always use RMSNorm";
        }
        if (s.isMamba1()) {
            return null;
        }
        return unsupportedMamba2Mixer(c);
    }

    /**
     * A hybrid (attention layers) or a model with MLPs is exported as BambaForCausalLM: every BambaDecoderLayer has
     * a feed_forward, so it takes Mamba2 mixers with a GatedMLP in every layer, attention or not.
     */
    private static boolean isBamba(MambaConfig c) {
        return !c.attnLayerIdx().isEmpty() || c.hasMlp();
    }

    private static String unsupportedAsBamba(MambaConfig c) {
        if (!c.hasMlp()) {
            return "d_intermediate = 0: transformers' hybrid (BambaForCausalLM) has a gated MLP in every layer";
        }
        if (!c.rmsNorm()) {
            return "rms_norm = false: transformers' BambaForCausalLM always uses RMSNorm";
        }
        if (c.ssm().isMamba1()) {
            return "ssm_cfg.layer = \"Mamba1\": transformers' BambaForCausalLM mixes Mamba2 layers only";
        }
        if (c.ssm().ngroups() != 1) {
            // modular_bamba.py: BambaRMSNormGated normalises all channels at once, mamba_ssm each group (HfBambaConfig)
            return "ssm_cfg.ngroups = " + c.ssm().ngroups() + ": transformers' Bamba normalises the gated output over"
                    + " all channels, ssm-spark per group; only 1 gives the same model";
        }
        String mixer = unsupportedMamba2Mixer(c);
        if (mixer != null) {
            return mixer;
        }
        if (c.attnLayerIdx().isEmpty()) {
            return null;
        }
        AttnConfig a = c.attn();
        if (a.qkvProjBias() || a.outProjBias()) {
            return "attn_cfg.qkv_proj_bias / out_proj_bias: transformers' Bamba attention has no bias";
        }
        if (a.windowSize() != null) {
            return "attn_cfg.window_size = " + a.windowSize() + ": transformers' Bamba attention is full causal";
        }
        if (a.softmaxScale() != null && a.softmaxScale() != Math.pow(c.attnHeadDim(), -0.5)) {
            return "attn_cfg.softmax_scale = " + a.softmaxScale() + ": transformers' Bamba scales by head_dim^-1/2";
        }
        if (2 * a.rotaryEmbDim() != c.attnHeadDim()) {
            // configuration_bamba.py: BambaConfig.__init__ hardcodes partial_rotary_factor = 0.5
            return "attn_cfg.rotary_emb_dim = " + a.rotaryEmbDim() + ": transformers' Bamba rotates half of head_dim ("
                    + c.attnHeadDim() + "), whatever config.json says";
        }
        return null;
    }

    /** What a Mamba2 mixer must be for transformers' Mamba2Mixer / BambaMixer to compute it. */
    private static String unsupportedMamba2Mixer(MambaConfig c) {
        SsmConfig s = c.ssm();
        if (!s.layer().equals(SsmConfig.MAMBA2)) {
            return "ssm_cfg.layer = \"" + s.layer() + "\": transformers has no such layer";
        }
        if (s.dHasHdim()) {
            return "ssm_cfg.D_has_hdim = true: transformers' Mamba2 has one D per head";
        }
        if (!s.rmsnorm()) {
            return "ssm_cfg.rmsnorm = false: transformers' Mamba2 always has the gated RMSNorm";
        }
        if (s.normBeforeGate()) {
            return "ssm_cfg.norm_before_gate = true: transformers' Mamba2 gates before the norm";
        }
        if (c.normEpsilon() != GatedRmsNorm.MAMBA2_EPS) {
            return "norm_epsilon = " + c.normEpsilon() + ": transformers' Mamba2 uses layer_norm_epsilon in the"
                    + " mixers' gated RMSNorm too, which ssm-spark fixes at " + GatedRmsNorm.MAMBA2_EPS;
        }
        if (s.bias() || !s.convBias()) {
            return "ssm_cfg.bias / conv_bias: ssm-spark's Mamba2 has no in/out_proj bias and a conv bias";
        }
        return null;
    }

    /** The architecture name the config is exported as. */
    public static String architecture(MambaConfig c) {
        if (isBamba(c)) {
            return HfBambaConfig.ARCHITECTURE;
        }
        return c.ssm().isMamba1() ? HfMambaConfig.ARCHITECTURE : HfMamba2Config.ARCHITECTURE;
    }

    /**
     * configuration_bamba.py, BambaConfig.__init__, as {@link HfBambaConfig} reads it: time_step_limit is left to
     * its default (0.0, inf), no clamping, as ssm-spark computes; the rotary base is written both as 4.x's rope_theta
     * and as 5.x's rope_parameters; partial_rotary_factor is 0.5, which BambaConfig hardcodes.
     */
    private static void bamba(MambaConfig c, ObjectNode o) {
        SsmConfig s = c.ssm();
        o.put("model_type", HfBambaConfig.MODEL_TYPE);
        o.put("hidden_size", c.dModel());
        o.put("num_hidden_layers", c.nLayer());
        o.put("vocab_size", c.paddedVocabSize());
        o.put("intermediate_size", c.mlpHidden());
        o.put("hidden_act", "silu");
        o.put("mlp_bias", false);
        o.put("rms_norm_eps", c.normEpsilon());
        var attn = o.putArray("attn_layer_indices");
        c.attnLayerIdx().forEach(attn::add);
        boolean hasAttention = !c.attnLayerIdx().isEmpty();
        // with no attention layer these fields describe modules that are never built: one head of width 4
        o.put("num_attention_heads", hasAttention ? c.attnNumHeads() : 1);
        o.put("num_key_value_heads", hasAttention ? c.attnNumHeadsKv() : 1);
        o.put("head_dim", hasAttention ? c.attnHeadDim() : NO_ATTENTION_HEAD_DIM);
        o.put("attention_bias", false);
        o.put("partial_rotary_factor", 0.5);
        double theta = c.attn().rotaryEmbBase();
        o.put("rope_theta", theta);
        ObjectNode rope = o.putObject("rope_parameters");
        rope.put("rope_type", "default");
        rope.put("rope_theta", theta);
        rope.put("partial_rotary_factor", 0.5);
        o.put("mamba_n_heads", c.nHeads());
        o.put("mamba_d_head", s.headdim());
        o.put("mamba_n_groups", s.ngroups());
        o.put("mamba_d_state", s.dState());
        o.put("mamba_d_conv", s.dConv());
        o.put("mamba_expand", s.expand());
        o.put("mamba_chunk_size", s.chunkSize());
        o.put("mamba_conv_bias", true);
        o.put("mamba_proj_bias", false);
        o.put("time_step_min", s.dtMin());
        o.put("time_step_max", s.dtMax());
    }

    /** config.json text; refuses a config transformers would compute differently. */
    public static String toJson(MambaConfig c) {
        String why = unsupported(c);
        if (why != null) {
            throw new IllegalArgumentException("cannot export to transformers: " + why);
        }
        SsmConfig s = c.ssm();
        ObjectNode o = MAPPER.createObjectNode();
        o.putArray("architectures").add(architecture(c));
        if (isBamba(c)) {
            bamba(c, o);
        } else if (s.isMamba1()) {
            // configuration_mamba.py, MambaConfig.__init__ (its attributes, intermediate_size and the resolved
            // time_step_rank included, as save_pretrained writes them).
            o.put("model_type", HfMambaConfig.MODEL_TYPE);
            o.put("hidden_size", c.dModel());
            o.put("num_hidden_layers", c.nLayer());
            o.put("vocab_size", c.paddedVocabSize());
            o.put("state_size", s.dState());
            o.put("expand", s.expand());
            o.put("intermediate_size", c.dInner());
            o.put("conv_kernel", s.dConv());
            o.put("use_bias", s.bias());
            o.put("use_conv_bias", s.convBias());
            o.put("hidden_act", "silu");
            o.put("time_step_rank", s.dtRankFor(c.dModel()));
            o.put("time_step_scale", s.dtScale());
            o.put("time_step_min", s.dtMin());
            o.put("time_step_max", s.dtMax());
            o.put("time_step_init_scheme", s.dtInit());
            o.put("time_step_floor", s.dtInitFloor());
        } else {
            // configuration_mamba2.py, Mamba2Config.__init__, as HfMamba2Config reads it; time_step_limit is left to
            // its default (0.0, inf): no clamping, as ssm-spark computes.
            o.put("model_type", HfMamba2Config.MODEL_TYPE);
            o.put("hidden_size", c.dModel());
            o.put("num_hidden_layers", c.nLayer());
            o.put("vocab_size", c.paddedVocabSize());
            o.put("state_size", s.dState());
            o.put("expand", s.expand());
            o.put("head_dim", s.headdim());
            o.put("num_heads", c.nHeads());
            o.put("n_groups", s.ngroups());
            o.put("conv_kernel", s.dConv());
            o.put("chunk_size", s.chunkSize());
            o.put("use_bias", false);
            o.put("use_conv_bias", true);
            o.put("hidden_act", "silu");
            o.put("rms_norm", true);
            o.put("norm_before_gate", false);
            o.put("time_step_min", s.dtMin());
            o.put("time_step_max", s.dtMax());
            o.put("time_step_floor", s.dtInitFloor());
        }
        if (!isBamba(c)) {
            o.put("layer_norm_epsilon", c.normEpsilon());
            o.put("residual_in_fp32", c.residualInFp32());
        }
        o.put("tie_word_embeddings", c.tieEmbeddings());
        o.put("torch_dtype", "float32");
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n";
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
