package io.ssmspark.model.config;

/**
 * The settings of a RetNet retention layer ({@code ssm_cfg} with {@code "layer": "RetNet"}, our name; Sun et al. 2023,
 * "Retentive Network", multi-scale retention as in torchscale's MultiScaleRetention without the xPos rotation):
 *
 * <ul>
 *   <li>{@code num_heads} H (required): d_model is split into H heads of key dimension d_k = d_model / H;</li>
 *   <li>{@code value_factor} (default 2): the values are value_factor · d_model wide, d_v = value_factor · d_k per
 *       head;</li>
 *   <li>{@code group_norm} (default true): a per-head RMSNorm of the retention output (no affine weight, as
 *       torchscale's), eps {@code group_norm_eps} (default 1e-6, torchscale's layernorm_eps);</li>
 *   <li>{@code gate} (default true): the swish gate swish(g_proj(x)) ⊙ ... before out_proj.</li>
 * </ul>
 *
 * The decay of head h is fixed, γ_h = 1 − 2^(−5−h). ssm_cfg.chunk_size (in {@link SsmConfig}) is the chunk length
 * of the chunked form.
 */
public record RetNetConfig(int numHeads, int valueFactor, boolean groupNorm, boolean gate, double groupNormEps) {

    /** ssm_cfg.layer of a RetNet retention layer. */
    public static final String LAYER = "RetNet";

    public static final int DEFAULT_VALUE_FACTOR = 2;
    public static final double DEFAULT_GROUP_NORM_EPS = 1e-6;

    public RetNetConfig {
        SsmConfig.requireAtLeast("ssm_cfg.num_heads", numHeads, 1);
        SsmConfig.requireAtLeast("ssm_cfg.value_factor", valueFactor, 1);
        if (!(groupNormEps > 0) || !Double.isFinite(groupNormEps)) {
            throw new IllegalArgumentException(
                    "ssm_cfg.group_norm_eps must be a finite number > 0, found " + groupNormEps);
        }
    }

    /** H heads with the defaults: value_factor 2, group norm and gate on. */
    public static RetNetConfig of(int numHeads) {
        return new RetNetConfig(numHeads, DEFAULT_VALUE_FACTOR, true, true, DEFAULT_GROUP_NORM_EPS);
    }

    public RetNetConfig withValueFactor(int v) {
        return new RetNetConfig(numHeads, v, groupNorm, gate, groupNormEps);
    }

    public RetNetConfig withGroupNorm(boolean v) {
        return new RetNetConfig(numHeads, valueFactor, v, gate, groupNormEps);
    }

    public RetNetConfig withGate(boolean v) {
        return new RetNetConfig(numHeads, valueFactor, groupNorm, v, groupNormEps);
    }

    public RetNetConfig withGroupNormEps(double v) {
        return new RetNetConfig(numHeads, valueFactor, groupNorm, gate, v);
    }

    /** The key (and query) dimension per head, d_model / H. */
    public int keyDim(int dModel) {
        return dModel / numHeads;
    }

    /** The value dimension per head, value_factor · d_k. */
    public int valueDim(int dModel) {
        return valueFactor * keyDim(dModel);
    }

    /** Checks the sizes against d_model: H must divide it. */
    void check(int dModel) {
        if (dModel % numHeads != 0) {
            throw new IllegalArgumentException(
                    "ssm_cfg.num_heads: d_model = " + dModel + " is not divisible by num_heads = " + numHeads);
        }
        long values = (long) valueFactor * dModel;
        if (values > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(
                    "ssm_cfg.value_factor: value_factor * d_model = " + values + " is too large");
        }
    }
}
