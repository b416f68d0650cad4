package io.ssmspark.model.layers;

import io.ssmspark.model.tensor.Ops;
import io.ssmspark.model.tensor.Shapes;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * LayerNorm over the last dimension of token rows x [rows, d], as torch.nn.LayerNorm:
 * y = (x − mean) · rsqrt(var + eps) · w + b with the biased variance. The bias may be null.
 */
public final class LayerNorm {

    private LayerNorm() {}

    public static INDArray forward(INDArray x, INDArray weight, INDArray bias, double eps) {
        check(x, weight, bias, eps);
        INDArray y = Ops.mul(normalized(x, eps)[0], weight);
        return bias == null ? y : Ops.add(y, bias, y);
    }

    /**
     * With x̂ the normalized input, r = rsqrt(var + eps) and g = dy·w:
     * dx = r · (g − mean(g) − x̂ · mean(g ∘ x̂)), dw += Σ_rows dy ∘ x̂, db += Σ_rows dy.
     */
    public static INDArray backward(
            INDArray x, INDArray weight, INDArray bias, double eps, INDArray dy, INDArray dWeight, INDArray dBias) {
        check(x, weight, bias, eps);
        DataType dt = x.dataType();
        Shapes.requireShape("dy", dy, dt, x.shape());
        Shapes.requireShapeIfPresent("dWeight", dWeight, dt, x.size(1));
        Shapes.requireShapeIfPresent("dBias", dBias, dt, x.size(1));
        INDArray[] n = normalized(x, eps);
        INDArray xhat = n[0];
        INDArray r = n[1];
        if (dWeight != null) {
            Ops.addColumnSums(dWeight, dy.mul(xhat));
        }
        if (dBias != null) {
            Ops.addColumnSums(dBias, dy);
        }
        INDArray g = Ops.mul(dy, weight);
        INDArray meanG = g.mean(true, 1);
        INDArray meanGx = g.mul(xhat).mean(true, 1);
        Ops.sub(g, meanG, g);
        g.subi(Ops.mul(xhat, meanGx));
        return Ops.mul(g, r, g);
    }

    /** {x̂ [rows, d], rsqrt(var + eps) [rows, 1]}. */
    private static INDArray[] normalized(INDArray x, double eps) {
        INDArray centered = Ops.sub(x, x.mean(true, 1), x.ulike());
        INDArray var = centered.mul(centered).mean(true, 1).addi(eps);
        INDArray r = Transforms.sqrt(var, false).rdivi(1.0);
        return new INDArray[] {Ops.mul(centered, r, centered), r};
    }

    private static void check(INDArray x, INDArray weight, INDArray bias, double eps) {
        long[] xs = Shapes.requireRank("x", x, 2);
        Shapes.requireShape("weight", weight, x.dataType(), xs[1]);
        Shapes.requireShapeIfPresent("bias", bias, x.dataType(), xs[1]);
        Shapes.require(eps > 0 && Double.isFinite(eps), "norm eps: expected a finite value > 0 but found %s", eps);
    }
}
