package io.ssmspark.model.layers;

import io.ssmspark.model.tensor.Ops;
import io.ssmspark.model.tensor.Shapes;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * mamba_ssm's RMSNormGated, the norm at the end of the Mamba2 mixer, on token rows x, z [rows, D]. The RMS is
 * taken separately over each group of {@code groupSize} consecutive channels (D / ngroups); eps is 1e-5 there.
 * <ul>
 * <li>normBeforeGate = false (mamba_ssm's default): y = rmsnorm_g(x · silu(z)) · w</li>
 * <li>normBeforeGate = true: y = rmsnorm_g(x) · w · silu(z)</li>
 * </ul>
 * z may be null, which leaves a plain grouped RMSNorm.
 */
public final class GatedRmsNorm {

    /** The eps mamba_ssm's Mamba2 gives its RMSNormGated. */
    public static final double MAMBA2_EPS = 1e-5;

    /** dx and dz (dz is null when z was null). */
    public record Gradients(INDArray dx, INDArray dz) {}

    private GatedRmsNorm() {}

    public static INDArray forward(
            INDArray x, INDArray z, INDArray weight, int groupSize, double eps, boolean normBeforeGate) {
        check(x, z, weight, groupSize, eps);
        if (z == null || normBeforeGate) {
            INDArray y = Ops.mul(grouped(x, groupSize, eps)[0], weight);
            return z == null ? y : y.muli(Activations.silu(z));
        }
        INDArray u = x.mul(Activations.silu(z));
        return Ops.mul(grouped(u, groupSize, eps)[0], weight);
    }

    /**
     * Backward of {@link #forward}; adds into dWeight (which may be null). With u the normalized input (x, or
     * x·silu(z)), û = u·r per group and g = ∂L/∂û: du = r · (g − û · mean_group(g ∘ û)).
     */
    public static Gradients backward(
            INDArray x,
            INDArray z,
            INDArray weight,
            int groupSize,
            double eps,
            boolean normBeforeGate,
            INDArray dy,
            INDArray dWeight) {
        check(x, z, weight, groupSize, eps);
        DataType dt = x.dataType();
        Shapes.requireShape("dy", dy, dt, x.shape());
        Shapes.requireShapeIfPresent("dWeight", dWeight, dt, x.size(1));
        if (z == null) {
            INDArray[] n = grouped(x, groupSize, eps);
            accumulate(dWeight, dy.mul(n[0]));
            return new Gradients(groupBackward(Ops.mul(dy, weight), n, groupSize), null);
        }
        Activations.Silu silu = Activations.siluWithGrad(z);
        INDArray siluZ = silu.value();
        if (normBeforeGate) {
            // y = x̂ · w · s with s = silu(z)
            INDArray[] n = grouped(x, groupSize, eps);
            INDArray xhatW = Ops.mul(n[0], weight);
            INDArray dz = dy.mul(xhatW).muli(silu.grad());
            accumulate(dWeight, dy.mul(n[0]).muli(siluZ));
            INDArray g = Ops.mul(dy.mul(siluZ), weight);
            return new Gradients(groupBackward(g, n, groupSize), dz);
        }
        // y = û · w with u = x · s
        INDArray u = x.mul(siluZ);
        INDArray[] n = grouped(u, groupSize, eps);
        accumulate(dWeight, dy.mul(n[0]));
        INDArray du = groupBackward(Ops.mul(dy, weight), n, groupSize);
        INDArray dz = du.mul(x).muli(silu.grad());
        return new Gradients(du.muli(siluZ), dz);
    }

    private static void accumulate(INDArray dWeight, INDArray perRow) {
        if (dWeight != null) {
            Ops.addColumnSums(dWeight, perRow);
        }
    }

    /**
     * {û [rows, D], r [rows·G, 1]}: û = u · rsqrt(mean over the group of u² + eps), groups of groupSize
     * consecutive channels.
     */
    private static INDArray[] grouped(INDArray u, int groupSize, double eps) {
        long rows = u.size(0);
        long d = u.size(1);
        INDArray byGroup = Shapes.contiguous(u).reshape(rows * d / groupSize, groupSize);
        INDArray r = RmsNorm.rstd(byGroup, eps);
        INDArray uhat = Ops.mul(byGroup, r).reshape(rows, d);
        return new INDArray[] {uhat, r};
    }

    /** du = r · (g − û · mean_group(g ∘ û)) for g = ∂L/∂û. */
    private static INDArray groupBackward(INDArray g, INDArray[] normalized, int groupSize) {
        long rows = g.size(0);
        long d = g.size(1);
        INDArray gg = Shapes.contiguous(g).reshape(rows * d / groupSize, groupSize);
        INDArray uhat = normalized[0].reshape(rows * d / groupSize, groupSize);
        INDArray meanGu = gg.mul(uhat).mean(true, 1);
        INDArray du = gg.sub(Ops.mul(uhat, meanGu));
        return Ops.mul(du, normalized[1], du).reshape(rows, d);
    }

    private static void check(INDArray x, INDArray z, INDArray weight, int groupSize, double eps) {
        long[] xs = Shapes.requireRank("x", x, 2);
        Shapes.requireShapeIfPresent("z", z, x.dataType(), xs);
        Shapes.requireShape("weight", weight, x.dataType(), xs[1]);
        Shapes.require(
                groupSize > 0 && xs[1] % groupSize == 0,
                "gated norm groupSize: expected a positive divisor of the channel count %d but found %d",
                xs[1],
                groupSize);
        Shapes.require(eps > 0 && Double.isFinite(eps), "norm eps: expected a finite value > 0 but found %s", eps);
    }
}
