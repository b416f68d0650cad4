package io.ssmspark.model.config;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The model configuration, field for field mamba_ssm's {@code MambaConfig} (plus {@code norm_epsilon},
 * which mamba_ssm passes to MixerModel, and the attention {@code window_size} extension). Immutable;
 * build with {@link #builder()} or read with {@link #read(Path)}. Construction checks the consistency
 * rules, and resolves attention's num_heads_kv and head_dim when num_heads is given.
 */
public record MambaConfig(
        int dModel,
        int dIntermediate,
        int nLayer,
        int vocabSize,
        SsmConfig ssm,
        List<Integer> attnLayerIdx,
        AttnConfig attn,
        boolean rmsNorm,
        double normEpsilon,
        boolean residualInFp32,
        boolean fusedAddNorm,
        int padVocabSizeMultiple,
        boolean tieEmbeddings) {

    /** GatedMLP rounds its hidden width up to a multiple of this (mamba_ssm's multiple_of). */
    public static final int MLP_MULTIPLE_OF = 128;
    /** The epsilon mamba_ssm's MixerModel uses for every norm. */
    public static final double DEFAULT_NORM_EPSILON = 1e-5;

    public MambaConfig {
        Objects.requireNonNull(ssm, "ssm_cfg");
        Objects.requireNonNull(attn, "attn_cfg");
        Objects.requireNonNull(attnLayerIdx, "attn_layer_idx");
        SsmConfig.requireAtLeast("d_model", dModel, 1);
        SsmConfig.requireAtLeast("d_intermediate", dIntermediate, 0);
        SsmConfig.requireAtLeast("n_layer", nLayer, 1);
        SsmConfig.requireAtLeast("vocab_size", vocabSize, 1);
        SsmConfig.requireAtLeast("pad_vocab_size_multiple", padVocabSizeMultiple, 1);
        if (!(normEpsilon > 0) || !Double.isFinite(normEpsilon)) {
            throw new IllegalArgumentException("norm_epsilon must be a finite number > 0, found " + normEpsilon);
        }
        attnLayerIdx = List.copyOf(attnLayerIdx);
        checkAttnLayerIdx(attnLayerIdx, nLayer);
        checkSsm(dModel, ssm);
        attn = resolveAttn(dModel, attn, !attnLayerIdx.isEmpty());
        long paddedVocab = roundUp(vocabSize, padVocabSizeMultiple);
        if (paddedVocab > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("vocab_size " + vocabSize + " padded to a multiple of "
                    + padVocabSizeMultiple + " exceeds " + Integer.MAX_VALUE);
        }
    }

    private static void checkAttnLayerIdx(List<Integer> idx, int nLayer) {
        Set<Integer> seen = new HashSet<>();
        for (Integer i : idx) {
            if (i == null || i < 0 || i >= nLayer) {
                throw new IllegalArgumentException(
                        "attn_layer_idx: layer " + i + " is outside [0, n_layer = " + nLayer + ")");
            }
            if (!seen.add(i)) {
                throw new IllegalArgumentException("attn_layer_idx: layer " + i + " is listed twice");
            }
        }
    }

    /** The Mamba2 layer's size rules (d_inner, heads, groups); other layers' settings check themselves. */
    private static void checkSsm(int dModel, SsmConfig ssm) {
        if (ssm.retNet() != null) {
            ssm.retNet().check(dModel);
        }
        if (!"Mamba2".equals(ssm.layer())) {
            return; // the checks below are Mamba2's sizes
        }
        long dInner = (long) ssm.expand() * dModel;
        if (dInner > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(
                    "ssm_cfg.expand: d_inner = expand * d_model = " + dInner + " is too large");
        }
        if (ssm.isMamba1()) {
            checkMamba1(ssm);
        }
        if (SsmConfig.MAMBA2.equals(ssm.layer())) {
            checkMamba2(dModel, dInner, ssm);
        }
    }

    /** Mamba2's heads and groups: d_inner = nheads · headdim, nheads = ngroups · heads per group. */
    private static void checkMamba2(int dModel, long dInner, SsmConfig ssm) {
        if (ssm.bias() || !ssm.convBias()) {
            throw new IllegalArgumentException("ssm_cfg: ssm-spark's Mamba2 has conv_bias = true and bias = false only,"
                    + " found conv_bias = " + ssm.convBias() + ", bias = " + ssm.bias());
        }
        if (dInner % ssm.headdim() != 0) {
            throw new IllegalArgumentException("ssm_cfg.headdim: d_inner = expand * d_model = " + ssm.expand() + " * "
                    + dModel + " = " + dInner + " is not divisible by headdim = " + ssm.headdim());
        }
        long nHeads = dInner / ssm.headdim();
        if (nHeads % ssm.ngroups() != 0) {
            throw new IllegalArgumentException("ssm_cfg.ngroups: nheads = d_inner / headdim = " + nHeads
                    + " is not divisible by ngroups = " + ssm.ngroups());
        }
    }

    /** Mamba1 has no heads or groups (headdim, ngroups are Mamba2's); its sizes need d_inner and dt_rank only. */
    private static void checkMamba1(SsmConfig ssm) {
        if (ssm.dConv() < 2) {
            throw new IllegalArgumentException("ssm_cfg.d_conv must be >= 2 for Mamba1 in ssm-spark (its causal conv"
                    + " keeps d_conv - 1 rows between windows), found " + ssm.dConv());
        }
    }

    /** Fills in num_heads_kv and head_dim the way mamba_ssm's MHA does, and checks them. */
    private static AttnConfig resolveAttn(int dModel, AttnConfig attn, boolean used) {
        if (attn.numHeads() == null) {
            if (used) {
                throw new IllegalArgumentException(
                        "attn_cfg.num_heads is required because attn_layer_idx is not empty");
            }
            return attn;
        }
        int numHeads = attn.numHeads();
        int numHeadsKv = attn.numHeadsKv() != null ? attn.numHeadsKv() : numHeads;
        if (attn.headDim() == null && dModel % numHeads != 0) {
            throw new IllegalArgumentException("attn_cfg.num_heads: d_model = " + dModel
                    + " is not divisible by num_heads = " + numHeads + " (needed when head_dim is not given)");
        }
        int headDim = attn.headDim() != null ? attn.headDim() : dModel / numHeads;
        if (numHeads % numHeadsKv != 0) {
            throw new IllegalArgumentException("attn_cfg.num_heads_kv: num_heads = " + numHeads
                    + " is not divisible by num_heads_kv = " + numHeadsKv);
        }
        if (attn.rotaryEmbDim() > headDim) {
            throw new IllegalArgumentException(
                    "attn_cfg.rotary_emb_dim = " + attn.rotaryEmbDim() + " exceeds head_dim = " + headDim);
        }
        return attn.toBuilder().numHeadsKv(numHeadsKv).headDim(headDim).build();
    }

    private static long roundUp(long value, long multiple) {
        return (value + multiple - 1) / multiple * multiple;
    }

    // ---- derived sizes ----------------------------------------------------------------------

    /** d_inner = expand * d_model. */
    public int dInner() {
        return ssm.expand() * dModel;
    }

    /** Number of SSD heads, d_inner / headdim. */
    public int nHeads() {
        return dInner() / ssm.headdim();
    }

    /** vocab_size rounded up to a multiple of pad_vocab_size_multiple: the embedding rows and logits. */
    public int paddedVocabSize() {
        return (int) roundUp(vocabSize, padVocabSizeMultiple);
    }

    /** Channels of the depthwise conv: x, B and C, d_inner + 2 * ngroups * d_state. */
    public int convDim() {
        return dInner() + 2 * ssm.ngroups() * ssm.dState();
    }

    /** Output width of the Mamba2 in_proj: [z, xBC, dt] = 2 * d_inner + 2 * ngroups * d_state + nheads. */
    public int inProjDim() {
        return 2 * dInner() + 2 * ssm.ngroups() * ssm.dState() + nHeads();
    }

    /** Number of entries of the Mamba2 D parameter: d_inner when D_has_hdim, else nheads. */
    public int dParamSize() {
        return ssm.dHasHdim() ? dInner() : nHeads();
    }

    /** Mamba1's dt_rank: ssm_cfg.dt_rank, or "auto" = ⌈d_model / 16⌉. */
    public int dtRank() {
        return ssm.dtRankFor(dModel);
    }

    /** Whether each layer has a GatedMLP (and norm2). */
    public boolean hasMlp() {
        return dIntermediate > 0;
    }

    /** GatedMLP hidden width: d_intermediate rounded up to a multiple of 128 (0 when there is no MLP). */
    public int mlpHidden() {
        return (int) roundUp(dIntermediate, MLP_MULTIPLE_OF);
    }

    /** Whether layer {@code i} uses MHA instead of Mamba2. */
    public boolean isAttentionLayer(int i) {
        if (i < 0 || i >= nLayer) {
            throw new IllegalArgumentException("layer index " + i + " is outside [0, n_layer = " + nLayer + ")");
        }
        return attnLayerIdx.contains(i);
    }

    public int attnNumHeads() {
        return requireAttn(attn.numHeads());
    }

    /** num_heads_kv, which defaults to num_heads. */
    public int attnNumHeadsKv() {
        return requireAttn(attn.numHeadsKv());
    }

    /** head_dim, which defaults to d_model / num_heads. */
    public int attnHeadDim() {
        return requireAttn(attn.headDim());
    }

    /** Width of the MHA in_proj output: head_dim * (num_heads + 2 * num_heads_kv). */
    public int attnQkvDim() {
        return attnHeadDim() * (attnNumHeads() + 2 * attnNumHeadsKv());
    }

    /** Width of the MHA out_proj input: head_dim * num_heads. */
    public int attnOutDim() {
        return attnHeadDim() * attnNumHeads();
    }

    private static int requireAttn(Integer value) {
        if (value == null) {
            throw new IllegalStateException("attn_cfg.num_heads is not set: this config has no attention settings");
        }
        return value;
    }

    // ---- config.json ------------------------------------------------------------------------

    /** Reads and checks a config.json file. */
    public static MambaConfig read(Path file) throws IOException {
        return MambaConfigJson.read(file);
    }

    /** Parses config.json text; {@code source} names the file in error messages. */
    public static MambaConfig fromJson(String json, String source) throws MalformedConfigException {
        return MambaConfigJson.parse(json, source);
    }

    /** This config as config.json text, every field written explicitly in mamba_ssm's key names. */
    public String toJson() {
        return MambaConfigJson.toJson(this);
    }

    // ---- builder ----------------------------------------------------------------------------

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder()
                .dModel(dModel)
                .dIntermediate(dIntermediate)
                .nLayer(nLayer)
                .vocabSize(vocabSize)
                .ssm(ssm)
                .attnLayerIdx(attnLayerIdx)
                .attn(attn)
                .rmsNorm(rmsNorm)
                .normEpsilon(normEpsilon)
                .residualInFp32(residualInFp32)
                .fusedAddNorm(fusedAddNorm)
                .padVocabSizeMultiple(padVocabSizeMultiple)
                .tieEmbeddings(tieEmbeddings);
    }

    /** Builder starting from mamba_ssm's MambaConfig defaults. */
    public static final class Builder {
        private int dModel = 2560;
        private int dIntermediate = 0;
        private int nLayer = 64;
        private int vocabSize = 50277;
        private SsmConfig ssm = SsmConfig.DEFAULTS;
        private List<Integer> attnLayerIdx = List.of();
        private AttnConfig attn = AttnConfig.DEFAULTS;
        private boolean rmsNorm = true;
        private double normEpsilon = DEFAULT_NORM_EPSILON;
        private boolean residualInFp32 = true;
        private boolean fusedAddNorm = true;
        private int padVocabSizeMultiple = 8;
        private boolean tieEmbeddings = true;

        private Builder() {}

        public Builder dModel(int v) {
            dModel = v;
            return this;
        }

        public Builder dIntermediate(int v) {
            dIntermediate = v;
            return this;
        }

        public Builder nLayer(int v) {
            nLayer = v;
            return this;
        }

        public Builder vocabSize(int v) {
            vocabSize = v;
            return this;
        }

        public Builder ssm(SsmConfig v) {
            ssm = v;
            return this;
        }

        public Builder attnLayerIdx(List<Integer> v) {
            attnLayerIdx = v;
            return this;
        }

        public Builder attn(AttnConfig v) {
            attn = v;
            return this;
        }

        public Builder rmsNorm(boolean v) {
            rmsNorm = v;
            return this;
        }

        public Builder normEpsilon(double v) {
            normEpsilon = v;
            return this;
        }

        public Builder residualInFp32(boolean v) {
            residualInFp32 = v;
            return this;
        }

        public Builder fusedAddNorm(boolean v) {
            fusedAddNorm = v;
            return this;
        }

        public Builder padVocabSizeMultiple(int v) {
            padVocabSizeMultiple = v;
            return this;
        }

        public Builder tieEmbeddings(boolean v) {
            tieEmbeddings = v;
            return this;
        }

        public MambaConfig build() {
            return new MambaConfig(
                    dModel,
                    dIntermediate,
                    nLayer,
                    vocabSize,
                    ssm,
                    attnLayerIdx,
                    attn,
                    rmsNorm,
                    normEpsilon,
                    residualInFp32,
                    fusedAddNorm,
                    padVocabSizeMultiple,
                    tieEmbeddings);
        }
    }
}
