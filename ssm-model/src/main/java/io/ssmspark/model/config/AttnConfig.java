package io.ssmspark.model.config;

/**
 * The attention (MHA) settings ({@code attn_cfg} in config.json). Only what ssm-spark supports can be
 * represented: causal attention, no fused MLP (mlp_dim 0), no conv (d_conv 0) and non-interleaved
 * rotary embedding. {@code numHeadsKv} and {@code headDim} may be null here; {@link MambaConfig}
 * resolves them (num_heads_kv = num_heads, head_dim = d_model / num_heads), as mamba_ssm does.
 * {@code windowSize} is ssm-spark's extension: null means full causal attention.
 */
public record AttnConfig(
        Integer numHeads,
        Integer numHeadsKv,
        Integer headDim,
        int rotaryEmbDim,
        double rotaryEmbBase,
        boolean qkvProjBias,
        boolean outProjBias,
        Double softmaxScale,
        Integer windowSize) {

    /** mamba_ssm's defaults; num_heads has no default and is required once a layer uses attention. */
    public static final AttnConfig DEFAULTS = builder().build();

    public AttnConfig {
        requirePositiveOrNull("attn_cfg.num_heads", numHeads);
        requirePositiveOrNull("attn_cfg.num_heads_kv", numHeadsKv);
        requirePositiveOrNull("attn_cfg.head_dim", headDim);
        requirePositiveOrNull("attn_cfg.window_size", windowSize);
        if (rotaryEmbDim < 0 || rotaryEmbDim % 2 != 0) {
            throw new IllegalArgumentException("attn_cfg.rotary_emb_dim must be even and >= 0, found " + rotaryEmbDim);
        }
        if (!(rotaryEmbBase > 0) || !Double.isFinite(rotaryEmbBase)) {
            throw new IllegalArgumentException(
                    "attn_cfg.rotary_emb_base must be a finite number > 0, found " + rotaryEmbBase);
        }
        if (softmaxScale != null && (!(softmaxScale > 0) || !Double.isFinite(softmaxScale))) {
            throw new IllegalArgumentException(
                    "attn_cfg.softmax_scale must be null or a finite number > 0, found " + softmaxScale);
        }
    }

    private static void requirePositiveOrNull(String field, Integer value) {
        if (value != null && value < 1) {
            throw new IllegalArgumentException(field + " must be null or >= 1, found " + value);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder()
                .numHeads(numHeads)
                .numHeadsKv(numHeadsKv)
                .headDim(headDim)
                .rotaryEmbDim(rotaryEmbDim)
                .rotaryEmbBase(rotaryEmbBase)
                .qkvProjBias(qkvProjBias)
                .outProjBias(outProjBias)
                .softmaxScale(softmaxScale)
                .windowSize(windowSize);
    }

    /** Builder starting from mamba_ssm's MHA defaults. */
    public static final class Builder {
        private Integer numHeads = null;
        private Integer numHeadsKv = null;
        private Integer headDim = null;
        private int rotaryEmbDim = 0;
        private double rotaryEmbBase = 10000.0;
        private boolean qkvProjBias = true;
        private boolean outProjBias = true;
        private Double softmaxScale = null;
        private Integer windowSize = null;

        private Builder() {}

        public Builder numHeads(Integer v) {
            numHeads = v;
            return this;
        }

        public Builder numHeadsKv(Integer v) {
            numHeadsKv = v;
            return this;
        }

        public Builder headDim(Integer v) {
            headDim = v;
            return this;
        }

        public Builder rotaryEmbDim(int v) {
            rotaryEmbDim = v;
            return this;
        }

        public Builder rotaryEmbBase(double v) {
            rotaryEmbBase = v;
            return this;
        }

        public Builder qkvProjBias(boolean v) {
            qkvProjBias = v;
            return this;
        }

        public Builder outProjBias(boolean v) {
            outProjBias = v;
            return this;
        }

        public Builder softmaxScale(Double v) {
            softmaxScale = v;
            return this;
        }

        public Builder windowSize(Integer v) {
            windowSize = v;
            return this;
        }

        public AttnConfig build() {
            return new AttnConfig(
                    numHeads,
                    numHeadsKv,
                    headDim,
                    rotaryEmbDim,
                    rotaryEmbBase,
                    qkvProjBias,
                    outProjBias,
                    softmaxScale,
                    windowSize);
        }
    }
}
