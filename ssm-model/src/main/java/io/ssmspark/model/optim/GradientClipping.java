package io.ssmspark.model.optim;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Global gradient-norm clipping over the flat gradient vector, as torch.nn.utils.clip_grad_norm_ does
 * with norm_type 2: g *= min(1, maxNorm / (||g||_2 + 1e-6)).
 *
 * <p>The sum of squares is a double-double ({@link SquareSum}), so the norm is the same double whether it is
 * taken over the whole vector or assembled from shards, and whatever the thread count. A gradient whose sum of
 * squares overflows double (|g| around 1e154 in a DOUBLE gradient) is reported as infinite.
 */
public final class GradientClipping {
    /** Added to the norm before dividing, as in torch. */
    public static final double NORM_EPS = 1e-6;

    private GradientClipping() {}

    /** The L2 norm of a contiguous FLOAT or DOUBLE vector, accumulated in double-double. */
    public static double globalNorm(INDArray gradient) {
        return Math.sqrt(SquareSum.of(gradient, "gradient").value());
    }

    /**
     * Scales {@code gradient} in place so its L2 norm is at most {@code maxNorm} and returns the norm
     * before clipping. When that norm is NaN or infinite the gradient is left untouched and the result
     * says so ({@link ClipResult#finite()} false): the caller must stop or skip the step.
     */
    public static ClipResult clipGlobalNorm(INDArray gradient, double maxNorm) {
        ClipResult clip = forNorm(globalNorm(gradient), maxNorm);
        if (clip.clipped()) {
            gradient.muli(clip.scale());
        }
        return clip;
    }

    /**
     * What clipping a gradient of L2 norm {@code norm} to {@code maxNorm} does: scale min(1, maxNorm / (norm +
     * 1e-6)), or 1 with the non-finite norm reported. For a gradient held in pieces: each piece is multiplied by
     * the scale when {@link ClipResult#clipped}.
     */
    public static ClipResult forNorm(double norm, double maxNorm) {
        if (!(maxNorm > 0) || Double.isNaN(maxNorm)) {
            throw new IllegalArgumentException("maxNorm for gradient clipping must be > 0, found " + maxNorm);
        }
        if (!Double.isFinite(norm)) {
            return new ClipResult(norm, 1.0);
        }
        return new ClipResult(norm, Math.min(1.0, maxNorm / (norm + NORM_EPS)));
    }
}
