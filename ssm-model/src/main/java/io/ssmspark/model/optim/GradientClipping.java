package io.ssmspark.model.optim;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.floating.SquaredNorm;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Global gradient-norm clipping over the flat gradient vector, as torch.nn.utils.clip_grad_norm_ does
 * with norm_type 2: g *= min(1, maxNorm / (||g||_2 + 1e-6)).
 *
 * <p>The norm is accumulated in double whatever the gradient's type: the vector is reduced in fixed
 * blocks of {@value #BLOCK} elements (each cast to DOUBLE when the gradient is FLOAT, so the transient
 * copy is bounded), and the block sums of squares are added in Java in block order. The result is
 * therefore deterministic for a given ND4J thread count. A gradient whose sum of squares overflows
 * double (|g| around 1e154 in a DOUBLE gradient) is reported as infinite.
 */
public final class GradientClipping {
    /** Added to the norm before dividing, as in torch. */
    public static final double NORM_EPS = 1e-6;

    static final long BLOCK = 1L << 20;

    private GradientClipping() {}

    /** The L2 norm of a contiguous FLOAT or DOUBLE vector, accumulated in double. */
    public static double globalNorm(INDArray gradient) {
        INDArray g = AdamW.flatView(gradient, "gradient");
        long n = g.length();
        double sumOfSquares = 0.0;
        for (long start = 0; start < n; start += BLOCK) {
            INDArray block = g.get(NDArrayIndex.interval(start, Math.min(n, start + BLOCK)));
            INDArray asDouble = block.dataType() == DataType.DOUBLE ? block : block.castTo(DataType.DOUBLE);
            sumOfSquares += Nd4j.exec(new SquaredNorm(asDouble)).getDouble(0);
        }
        return Math.sqrt(sumOfSquares);
    }

    /**
     * Scales {@code gradient} in place so its L2 norm is at most {@code maxNorm} and returns the norm
     * before clipping. When that norm is NaN or infinite the gradient is left untouched and the result
     * says so ({@link ClipResult#finite()} false): the caller must stop or skip the step.
     */
    public static ClipResult clipGlobalNorm(INDArray gradient, double maxNorm) {
        if (!(maxNorm > 0) || Double.isNaN(maxNorm)) {
            throw new IllegalArgumentException("maxNorm for gradient clipping must be > 0, found " + maxNorm);
        }
        double norm = globalNorm(gradient);
        if (!Double.isFinite(norm)) {
            return new ClipResult(norm, 1.0);
        }
        double scale = Math.min(1.0, maxNorm / (norm + NORM_EPS));
        if (scale < 1.0) {
            gradient.muli(scale);
        }
        return new ClipResult(norm, scale);
    }
}
