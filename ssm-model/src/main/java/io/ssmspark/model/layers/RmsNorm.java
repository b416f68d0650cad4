package io.ssmspark.model.layers;

import io.ssmspark.model.tensor.Ops;
import io.ssmspark.model.tensor.Shapes;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * RMSNorm over the last dimension of token rows x [rows, d]: y = x · rsqrt(mean(x²) + eps) · w.
 * The backward recomputes the per-row rsqrt (one reduction) instead of storing it.
 */
public final class RmsNorm {

    private RmsNorm() {}

    public static INDArray forward(INDArray x, INDArray weight, double eps) {
        check(x, weight, eps);
        INDArray xhat = Ops.mul(x, rstd(x, eps));
        return Ops.mul(xhat, weight);
    }

    /**
     * With r = rsqrt(mean(x²) + eps), x̂ = x·r and g = dy·w: dx = r · (g − x̂ · mean(g ∘ x̂)), dw += Σ_rows dy ∘ x̂.
     */
    public static INDArray backward(INDArray x, INDArray weight, double eps, INDArray dy, INDArray dWeight) {
        check(x, weight, eps);
        DataType dt = x.dataType();
        Shapes.requireShape("dy", dy, dt, x.shape());
        Shapes.requireShapeIfPresent("dWeight", dWeight, dt, x.size(1));
        INDArray r = rstd(x, eps);
        INDArray xhat = Ops.mul(x, r);
        if (dWeight != null) {
            Ops.addColumnSums(dWeight, dy.mul(xhat));
        }
        INDArray g = Ops.mul(dy, weight);
        INDArray meanGx = g.mul(xhat).mean(true, 1);
        INDArray dx = g.subi(Ops.mul(xhat, meanGx));
        return Ops.mul(dx, r, dx);
    }

    /** rsqrt(mean(x²) + eps) per row, as [rows, 1]. */
    static INDArray rstd(INDArray x2d, double eps) {
        INDArray meanSquare = x2d.mul(x2d).mean(true, 1).addi(eps);
        return Transforms.sqrt(meanSquare, false).rdivi(1.0);
    }

    private static void check(INDArray x, INDArray weight, double eps) {
        long[] xs = Shapes.requireRank("x", x, 2);
        Shapes.requireShape("weight", weight, x.dataType(), xs[1]);
        Shapes.require(eps > 0 && Double.isFinite(eps), "norm eps: expected a finite value > 0 but found %s", eps);
    }
}
