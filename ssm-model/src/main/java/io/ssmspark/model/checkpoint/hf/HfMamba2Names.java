package io.ssmspark.model.checkpoint.hf;

/**
 * transformers' Mamba2ForCausalLM tensor names against mamba_ssm's (modeling_mamba2.py): {@code backbone.embeddings},
 * {@code backbone.layers.N.norm}, {@code backbone.layers.N.mixer.{in_proj, conv1d, dt_bias, A_log, D, norm, out_proj}},
 * {@code backbone.norm_f} and {@code lm_head}. Only the embedding differs ({@code embeddings} for mamba_ssm's
 * {@code embedding}); shapes and layouts are the same (conv1d.weight (C, 1, K), D and dt_bias per head).
 */
public final class HfMamba2Names {
    /** transformers' name of the input embedding. */
    public static final String EMBEDDINGS = "backbone.embeddings.weight";
    /** mamba_ssm's name of it (CheckpointSchema.EMBEDDING; spelled here so that hf does not depend on checkpoint). */
    static final String MAMBA_SSM_EMBEDDING = "backbone.embedding.weight";

    private HfMamba2Names() {}

    /**
     * The mamba_ssm name of a tensor of a transformers checkpoint. mamba_ssm's own {@code backbone.embedding.weight}
     * is accepted too, as Mamba2Model's load_hook renames "embedding." to "embeddings." when loading.
     */
    public static String toMambaSsm(String name) {
        return EMBEDDINGS.equals(name) ? MAMBA_SSM_EMBEDDING : name;
    }

    /** transformers' name of a mamba_ssm tensor. */
    public static String toTransformers(String name) {
        return MAMBA_SSM_EMBEDDING.equals(name) ? EMBEDDINGS : name;
    }
}
