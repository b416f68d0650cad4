package io.ssmspark.model.checkpoint.hf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ssmspark.model.config.MambaConfig;
import io.ssmspark.model.config.SsmConfig;
import io.ssmspark.model.layers.GatedRmsNorm;
import java.io.UncheckedIOException;

/**
 * The transformers config.json of a MambaConfig that transformers can compute identically: {@code
 * Mamba2ForCausalLM} for pure Mamba2 models, {@code MambaForCausalLM} for pure Mamba-1 ones, with the fields
 * {@link HfMamba2Config} and {@link HfMambaConfig} read (the inverse of those mappings). {@code vocab_size} is the
 * padded vocabulary (transformers' embedding and logits have vocab_size rows, mamba_ssm's the padded number). A
 * config transformers would compute differently is refused with the reason ({@link IllegalArgumentException}).
 */
public final class HfConfigWriter {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private HfConfigWriter() {}

    /** Why transformers cannot hold this config, or null when it can. */
    public static String unsupported(MambaConfig c) {
        SsmConfig s = c.ssm();
        if (!c.attnLayerIdx().isEmpty()) {
            return "attn_layer_idx = " + c.attnLayerIdx() + ": attention layers have no transformers export yet"
                    + " (BambaForCausalLM is not mapped)";
        }
        if (c.hasMlp()) {
            return "d_intermediate = " + c.dIntermediate() + ": Mamba2ForCausalLM and MambaForCausalLM have no MLP";
        }
        if (!c.rmsNorm()) {
            return "rms_norm = false: transformers' Mamba and Mamba2 models always use RMSNorm";
        }
        if (s.isMamba1()) {
            return null;
        }
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
        return c.ssm().isMamba1() ? HfMambaConfig.ARCHITECTURE : HfMamba2Config.ARCHITECTURE;
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
        if (s.isMamba1()) {
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
        o.put("layer_norm_epsilon", c.normEpsilon());
        o.put("residual_in_fp32", c.residualInFp32());
        o.put("tie_word_embeddings", c.tieEmbeddings());
        o.put("torch_dtype", "float32");
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n";
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
