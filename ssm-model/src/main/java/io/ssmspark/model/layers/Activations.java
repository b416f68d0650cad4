package io.ssmspark.model.layers;

import io.ssmspark.model.tensor.Shapes;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erf;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * SiLU, softplus and GELU with their derivatives, elementwise, in the input's dtype. Each method returns a new
 * array and leaves its input untouched.
 */
public final class Activations {

    /** torch.nn.functional.softplus's default threshold: above it softplus(v) returns v itself. */
    public static final double SOFTPLUS_THRESHOLD = 20.0;

    private Activations() {}

    /** σ(v) = 1 / (1 + e^−v). */
    public static INDArray sigmoid(INDArray v) {
        Shapes.requireFloating("v", v);
        return Transforms.sigmoid(v, true);
    }

    /** silu(v) = v · σ(v). */
    public static INDArray silu(INDArray v) {
        Shapes.requireFloating("v", v);
        return Transforms.sigmoid(v, true).muli(v);
    }

    /** silu'(v) = σ(v) · (1 + v · (1 − σ(v))). */
    public static INDArray siluGrad(INDArray v) {
        Shapes.requireFloating("v", v);
        INDArray s = Transforms.sigmoid(v, true);
        INDArray oneMinusS = s.rsub(1.0);
        return oneMinusS.muli(v).addi(1.0).muli(s);
    }

    /** silu(v) and silu'(v) from one sigmoid, for backwards that need both. */
    public record Silu(INDArray value, INDArray grad) {}

    /** {@link #silu} and {@link #siluGrad} together: with s = σ(v), silu = s·v and silu' = s + silu·(1 − s). */
    public static Silu siluWithGrad(INDArray v) {
        Shapes.requireFloating("v", v);
        INDArray s = Transforms.sigmoid(v, true);
        INDArray value = s.mul(v);
        INDArray grad = s.rsub(1.0).muli(value).addi(s);
        return new Silu(value, grad);
    }

    /**
     * softplus(v) = log(1 + e^v) for v ≤ 20 and v for v > 20 (torch's threshold). Computed as
     * max(v, 0) + log1p(e^−|v|), which never overflows.
     */
    public static INDArray softplus(INDArray v) {
        Shapes.requireFloating("v", v);
        INDArray stable = Transforms.log1p(
                        Transforms.exp(Transforms.abs(v, true).negi(), false), false)
                .addi(Transforms.relu(v, true));
        // Select v where v > threshold: mask·v + (1 − mask)·stable is exact for a 0/1 mask.
        INDArray above = aboveThreshold(v);
        return above.mul(v).addi(above.rsub(1.0).muli(stable));
    }

    /** softplus'(v) = σ(v) for v ≤ 20 and exactly 1 above (the identity branch), as torch's backward. */
    public static INDArray softplusGrad(INDArray v) {
        Shapes.requireFloating("v", v);
        INDArray above = aboveThreshold(v);
        return above.rsub(1.0).muli(Transforms.sigmoid(v, true)).addi(above);
    }

    /** gelu(v) = v·Φ(v) = v/2 · (1 + erf(v/√2)), the exact form (torch's nn.GELU default). */
    public static INDArray gelu(INDArray v) {
        Shapes.requireFloating("v", v);
        return normalCdf(v).muli(v);
    }

    /** gelu'(v) = Φ(v) + v·φ(v), φ(v) = e^(−v²/2)/√(2π). */
    public static INDArray geluGrad(INDArray v) {
        Shapes.requireFloating("v", v);
        INDArray pdf = Transforms.exp(v.mul(v).muli(-0.5), false).muli(1.0 / Math.sqrt(2 * Math.PI));
        return pdf.muli(v).addi(normalCdf(v));
    }

    /** Φ(v) = (1 + erf(v/√2))/2. */
    private static INDArray normalCdf(INDArray v) {
        INDArray out = v.mul(1.0 / Math.sqrt(2));
        Nd4j.exec(new Erf(out, out));
        return out.addi(1.0).muli(0.5);
    }

    /** 1 where v > {@link #SOFTPLUS_THRESHOLD}, else 0, in v's dtype. */
    private static INDArray aboveThreshold(INDArray v) {
        return v.gt(SOFTPLUS_THRESHOLD).castTo(v.dataType());
    }
}
