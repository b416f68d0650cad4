package io.ssmspark.model.checkpoint.hf;

import io.ssmspark.model.config.MambaConfig;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * transformers' tensor names of {@code BambaForCausalLM} (models/bamba/modular_bamba.py: BambaModel, BambaDecoderLayer,
 * BambaMixer, LlamaAttention, LlamaMLP) and the mamba_ssm tensors they make:
 * <ul>
 * <li>{@code model.embed_tokens}, {@code model.final_layernorm}, {@code lm_head}: the embedding, norm_f, the head;</li>
 * <li>{@code model.layers.N.input_layernorm} / {@code pre_ff_layernorm}: the block's norm / norm2;</li>
 * <li>{@code model.layers.N.mamba.*}: the Mamba2 mixer, same names and layouts as mamba_ssm's;</li>
 * <li>{@code model.layers.N.self_attn.{q,k,v}_proj}: the rows of MHA's in_proj, in that order (mamba_ssm's Wqkv is
 * [q (H·hd), k (Hkv·hd), v (Hkv·hd)]); {@code o_proj}: out_proj;</li>
 * <li>{@code model.layers.N.feed_forward.{up,gate}_proj}: the rows of GatedMLP's fc1, up first: LlamaMLP computes
 * down(act(gate(x)) · up(x)) and mamba_ssm's GatedMLP fc2(y · silu(gate)) with fc1 = [y, gate]; {@code down_proj}:
 * fc2.</li>
 * </ul>
 * A schema tensor made of several stored ones has part keys {@code name#k}; a plain one is its own key.
 */
public final class HfBambaNames {
    private static final Pattern LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)");
    private static final Pattern SCHEMA_LAYER = Pattern.compile("backbone\\.layers\\.(\\d+)\\.(.+)");

    private HfBambaNames() {}

    /** The schema key of a stored tensor ({@code name#k} for part k of a concatenated one), or the name itself. */
    public static String toSchemaKey(String stored) {
        switch (stored) {
            case "model.embed_tokens.weight":
                return HfMamba2Names.MAMBA_SSM_EMBEDDING;
            case "model.final_layernorm.weight":
                return "backbone.norm_f.weight";
            default:
                break;
        }
        Matcher m = LAYER.matcher(stored);
        if (!m.matches()) {
            return stored; // lm_head.weight, or unknown
        }
        String p = "backbone.layers." + m.group(1) + ".";
        String rest = m.group(2);
        return switch (rest) {
            case "input_layernorm.weight" -> p + "norm.weight";
            case "pre_ff_layernorm.weight" -> p + "norm2.weight";
            case "self_attn.q_proj.weight" -> p + "mixer.in_proj.weight#0";
            case "self_attn.k_proj.weight" -> p + "mixer.in_proj.weight#1";
            case "self_attn.v_proj.weight" -> p + "mixer.in_proj.weight#2";
            case "self_attn.o_proj.weight" -> p + "mixer.out_proj.weight";
            case "feed_forward.up_proj.weight" -> p + "mlp.fc1.weight#0";
            case "feed_forward.gate_proj.weight" -> p + "mlp.fc1.weight#1";
            case "feed_forward.down_proj.weight" -> p + "mlp.fc2.weight";
            default -> rest.startsWith("mamba.") ? p + "mixer." + rest.substring(6) : "bamba:" + stored;
        };
    }

    /** The stored name of a schema key (the inverse of {@link #toSchemaKey}) in a Mamba2 layer. */
    public static String toStored(String key) {
        switch (key) {
            case HfMamba2Names.MAMBA_SSM_EMBEDDING:
                return "model.embed_tokens.weight";
            case "backbone.norm_f.weight":
                return "model.final_layernorm.weight";
            default:
                break;
        }
        Matcher m = SCHEMA_LAYER.matcher(key);
        if (!m.matches()) {
            return key;
        }
        String p = "model.layers." + m.group(1) + ".";
        String rest = m.group(2);
        return switch (rest) {
            case "norm.weight" -> p + "input_layernorm.weight";
            case "norm2.weight" -> p + "pre_ff_layernorm.weight";
            case "mixer.in_proj.weight#0" -> p + "self_attn.q_proj.weight";
            case "mixer.in_proj.weight#1" -> p + "self_attn.k_proj.weight";
            case "mixer.in_proj.weight#2" -> p + "self_attn.v_proj.weight";
            case "mlp.fc1.weight#0" -> p + "feed_forward.up_proj.weight";
            case "mlp.fc1.weight#1" -> p + "feed_forward.gate_proj.weight";
            case "mlp.fc2.weight" -> p + "feed_forward.down_proj.weight";
            default -> rest.startsWith("mixer.") ? p + "mamba." + rest.substring(6) : key;
        };
    }

    /** The stored name of a schema key for this config (an attention layer's out_proj is o_proj). */
    public static String toStored(String key, MambaConfig c) {
        Matcher m = SCHEMA_LAYER.matcher(key);
        if (m.matches()
                && m.group(2).equals("mixer.out_proj.weight")
                && c.isAttentionLayer(Integer.parseInt(m.group(1)))) {
            return "model.layers." + m.group(1) + ".self_attn.o_proj.weight";
        }
        return toStored(key);
    }

    /**
     * The rows of each stored part of a schema tensor, or null when it is stored whole: an attention layer's in_proj
     * (q, k, v) and every GatedMLP fc1 (up, gate).
     */
    public static List<Long> partRows(String schemaName, MambaConfig c) {
        Matcher m = SCHEMA_LAYER.matcher(schemaName);
        if (!m.matches()) {
            return null;
        }
        int layer = Integer.parseInt(m.group(1));
        if (m.group(2).equals("mixer.in_proj.weight") && c.isAttentionLayer(layer)) {
            long q = (long) c.attnNumHeads() * c.attnHeadDim();
            long kv = (long) c.attnNumHeadsKv() * c.attnHeadDim();
            return List.of(q, kv, kv);
        }
        if (m.group(2).equals("mlp.fc1.weight")) {
            return List.of((long) c.mlpHidden(), (long) c.mlpHidden());
        }
        return null;
    }
}
